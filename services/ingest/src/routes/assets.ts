/** /api/assets: upload for analysis, read one, list, retry. Every route acts for the user the gateway vouched for. */
import { HttpError, assetStatusSchema, categorySchema, objectIdSchema } from "@pipeline/contracts";
import { Hono } from "hono";
import { z } from "zod";
import { assetJson } from "../asset-json.ts";
import type { AssetsService } from "../assets-service.ts";
import type { IngestEnv } from "../auth.ts";
import { sniffImage } from "../image-sniff.ts";
import type { AssetRepository } from "../repository.ts";

const listQuerySchema = z.object({
  status: assetStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().optional(),
  /** 1-based page number, for clients that page by number rather than by cursor. */
  page: z.coerce.number().int().min(1).optional(),
  updatedSince: z.iso.datetime({ offset: true }).optional(),
});

export function assetRoutes(deps: { service: AssetsService; repository: AssetRepository; maxImageBytes: number }) {
  const app = new Hono<IngestEnv>();

  app.post("/analyze-queue", async (c) => {
    const form = await readMultipart(c.req.raw);
    const category = categorySchema.safeParse(form.get("category"));
    const image = form.get("image");
    if (!(image instanceof File)) throw new HttpError(400, "bad_request", "field 'image' is required (a file)");
    if (form.get("category") === null) throw new HttpError(400, "bad_request", "field 'category' is required");
    if (!category.success) throw new HttpError(400, "bad_request", `field 'category' must be one of: ${categorySchema.options.join(", ")}`);
    if (image.size === 0) throw new HttpError(400, "bad_request", "field 'image' is empty");
    if (image.size > deps.maxImageBytes) throw new HttpError(413, "payload_too_large", `image is larger than ${deps.maxImageBytes} bytes`);
    const bytes = new Uint8Array(await image.arrayBuffer());
    const sniffed = sniffImage(bytes);
    if (!sniffed) throw new HttpError(415, "unsupported_media_type", "image must be a JPEG, PNG or WebP file (checked by its content)");
    const accepted = await deps.service.submitUpload({ userId: c.var.user.userId, category: category.data, image: bytes, contentType: sniffed.contentType });
    return c.json(accepted, 202);
  });

  app.get("/", async (c) => {
    const query = listQuerySchema.safeParse(c.req.query());
    if (!query.success) throw new HttpError(400, "bad_request", query.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    const { limit, status, cursor, updatedSince, page } = query.data;
    if (cursor && page) throw new HttpError(400, "bad_request", "use either cursor or page, not both");
    const filter = {
      userId: c.var.user.userId,
      ...(status ? { status } : {}),
      ...(updatedSince ? { updatedSince: new Date(updatedSince) } : {}),
    };
    const [items, total] = await Promise.all([
      deps.repository.list({ ...filter, limit: limit + 1, skip: page ? (page - 1) * limit : 0, ...(cursor ? { after: decodeCursor(cursor) } : {}) }),
      deps.repository.count(filter),
    ]);
    const pageItems = items.slice(0, limit);
    const last = pageItems.at(-1);
    const nextCursor = items.length > limit && last ? encodeCursor(last.createdAt as Date, last._id.toHexString()) : null;
    return c.json({ items: pageItems.map(assetJson), nextCursor, total, limit, page: page ?? null });
  });

  app.get("/:id", async (c) => {
    const asset = await deps.service.findOwned(c.req.param("id"), c.var.user.userId);
    if (!asset) throw new HttpError(404, "not_found", "asset not found");
    return c.json(assetJson(asset));
  });

  app.post("/:id/retry", async (c) => {
    const id = c.req.param("id");
    if (!objectIdSchema.safeParse(id).success) throw new HttpError(404, "not_found", "asset not found");
    return c.json(await deps.service.retry(id, c.var.user.userId), 202);
  });

  return app;
}

async function readMultipart(request: Request): Promise<FormData> {
  const type = request.headers.get("content-type") ?? "";
  if (!type.startsWith("multipart/form-data")) throw new HttpError(400, "bad_request", "expected a multipart/form-data body with fields 'image' and 'category'");
  try {
    return await request.formData();
  } catch {
    throw new HttpError(400, "bad_request", "malformed multipart body");
  }
}

function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(`${createdAt.toISOString()}|${id}`).toString("base64url");
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [iso, id] = Buffer.from(cursor, "base64url").toString().split("|");
  const createdAt = new Date(iso ?? "");
  if (Number.isNaN(createdAt.getTime()) || !objectIdSchema.safeParse(id).success) throw new HttpError(400, "bad_request", "cursor is invalid");
  return { createdAt, id: id as string };
}
