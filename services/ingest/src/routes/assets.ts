/** /api/assets: upload for analysis, read one, list, retry. Every route acts for the user the gateway vouched for. */
import { assetStatusSchema, categorySchema, objectIdSchema } from "@pipeline/contracts/asset";
import { HttpError } from "@pipeline/runtime/http";
import { Hono } from "hono";
import { z } from "zod";
import type { IngestEnv } from "../auth.ts";
import { sniffImage } from "../image-sniff.ts";
import type { AssetsService } from "../services/assets-service.ts";
import { parseQuery } from "./query.ts";

const listQuerySchema = z.object({
  status: assetStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().optional(),
  page: z.coerce.number().int().min(1).optional(),
  updatedSince: z.iso.datetime({ offset: true }).optional(),
});

export function assetRoutes(deps: { assets: AssetsService; maxImageBytes: number }) {
  const app = new Hono<IngestEnv>();

  app.post("/analyze-queue", async (c) => {
    const form = await readMultipart(c.req.raw);
    const image = form.get("image");
    if (!(image instanceof File)) throw new HttpError(400, "bad_request", "field 'image' is required (a file)");
    if (form.get("category") === null) throw new HttpError(400, "bad_request", "field 'category' is required");
    const category = categorySchema.safeParse(form.get("category"));
    if (!category.success) throw new HttpError(400, "bad_request", `field 'category' must be one of: ${categorySchema.options.join(", ")}`);
    if (image.size === 0) throw new HttpError(400, "bad_request", "field 'image' is empty");
    if (image.size > deps.maxImageBytes) throw new HttpError(413, "payload_too_large", `image is larger than ${deps.maxImageBytes} bytes`);
    const bytes = new Uint8Array(await image.arrayBuffer());
    const sniffed = sniffImage(bytes);
    if (!sniffed) throw new HttpError(415, "unsupported_media_type", "image must be a JPEG, PNG or WebP file (checked by its content)");
    const accepted = await deps.assets.submitUpload({ userId: c.var.user.userId, category: category.data, image: bytes, contentType: sniffed.contentType });
    return c.json(accepted, 202);
  });

  app.get("/", async (c) => {
    const { updatedSince, ...query } = parseQuery(listQuerySchema, c.req.query());
    const page = await deps.assets.list({ ...query, userId: c.var.user.userId, ...(updatedSince ? { updatedSince: new Date(updatedSince) } : {}) });
    return c.json(page);
  });

  app.get("/:id", async (c) => c.json(await deps.assets.get(c.req.param("id"), c.var.user.userId)));

  app.post("/:id/retry", async (c) => {
    const id = c.req.param("id");
    if (!objectIdSchema.safeParse(id).success) throw new HttpError(404, "not_found", "asset not found");
    return c.json(await deps.assets.retry(id, c.var.user.userId), 202);
  });

  return app;
}

async function readMultipart(request: Request): Promise<FormData> {
  const type = request.headers.get("content-type") ?? "";
  if (!type.startsWith("multipart/form-data"))
    throw new HttpError(400, "bad_request", "expected a multipart/form-data body with fields 'image' and 'category'");
  try {
    return await request.formData();
  } catch {
    throw new HttpError(400, "bad_request", "malformed multipart body");
  }
}
