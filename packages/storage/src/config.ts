/** Storage settings from the environment, shared by every service that reads or writes images. */
import { z } from "zod";

export const storageConfigSchema = z.object({
  /** Where images are stored: files in STORAGE_DIR, served by the gateway at /media, or Cloudinary (CLOUDINARY_URL). */
  STORAGE: z.enum(["local", "cloudinary"]).default("local"),
  /** Local storage's folder, shared by ingest, the ai-worker and the gateway; unset: `.data/media` in the checkout. */
  STORAGE_DIR: z.string().min(1).optional(),
  /** Public base of the gateway, used in image URLs (`/media/...`) and the web page's links. */
  PUBLIC_URL: z.url().default("http://127.0.0.1:3000"),
  /** The Cloudinary account, for STORAGE or BACKGROUND_REMOVAL `cloudinary`: `cloudinary://<api_key>:<api_secret>@<cloud_name>[?upload_prefix=…&secure_distribution=…&private_cdn=…&cname=…&secure=…&signature_algorithm=…]`. */
  CLOUDINARY_URL: z
    .string()
    .regex(/^cloudinary:\/\/[^:]+:[^@]+@.+$/, "must be cloudinary://<key>:<secret>@<cloud>")
    .optional(),
  /** Cloudinary API base (the SDK's upload_prefix); wins over CLOUDINARY_URL's upload_prefix. */
  CLOUDINARY_UPLOAD_PREFIX: z.url().optional(),
});
export type StorageConfig = z.infer<typeof storageConfigSchema>;
