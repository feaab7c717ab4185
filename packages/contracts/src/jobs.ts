/**
 * The AI job's data: the specification's fields, validated in the producer and
 * the worker. Queue names, options and job ids are @pipeline/messaging's.
 */
import { z } from "zod";
import { categorySchema, objectIdSchema } from "./asset.ts";

/**
 * Job data of queue `ai-processing`. `imageUrl` must be HTTPS; the only
 * exception (the configured storage's own plain-HTTP base, e.g. local
 * storage) is checked by `jobDataSchemaFor`.
 */
export const jobDataSchema = z.object({
  assetId: objectIdSchema,
  userId: objectIdSchema,
  imageUrl: z.url(),
  category: categorySchema,
  createdAt: z.iso.datetime(),
  attempt: z.number().int().min(0),
});
export type JobData = z.infer<typeof jobDataSchema>;

/** The job data schema with the HTTPS rule, allowing the storage's own `plainHttpBase` as the one exception. */
export function jobDataSchemaFor(plainHttpBase?: string) {
  return jobDataSchema.refine((data) => data.imageUrl.startsWith("https://") || (plainHttpBase !== undefined && data.imageUrl.startsWith(plainHttpBase)), {
    message: "imageUrl must be an HTTPS URL",
    path: ["imageUrl"],
  });
}
