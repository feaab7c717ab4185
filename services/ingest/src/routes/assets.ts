/** /api/assets: upload for analysis (idempotent with a key), read one, list, retry, archive, delete. Every route acts for the user the gateway vouched for. */
import { createRoute, z } from "@hono/zod-openapi";
import {
  acceptedSchema,
  assetPageSchema,
  assetPatchSchema,
  assetResponseSchema,
  assetStatusSchema,
  CATEGORIES,
  reanalysisAcceptedSchema,
} from "@pipeline/contracts/asset";
import { HttpError } from "@pipeline/runtime/http";
import { createMiddleware } from "hono/factory";
import type { IngestEnv } from "../auth.ts";
import { IdempotentUploads, REPLAYED_HEADER } from "../idempotency.ts";
import { sniffImage } from "../image-sniff.ts";
import { errorResponses, json, openApiApp, SECURITY } from "../openapi.ts";
import type { AssetRemoval } from "../services/asset-removal.ts";
import type { AssetsService } from "../services/assets-service.ts";
import type { ReanalysisService } from "../services/reanalysis-service.ts";

const listQuerySchema = z.object({
  status: assetStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().optional().openapi({ description: "`nextCursor` of the previous page" }),
  page: z.coerce.number().int().min(1).optional().openapi({ description: "1-based page number (instead of `cursor`)" }),
  updatedSince: z.iso.datetime({ offset: true }).optional().openapi({ description: "only Assets changed at or after this time (catch-up after reconnecting)" }),
});

/** The upload's fields; a bad one is a 400 naming it (`category: must be one of: ...`), like a bad query. */
const uploadFormSchema = z.object({
  image: z
    .instanceof(File, { error: "a file is required" })
    .refine((file) => file.size > 0, "the file is empty")
    .openapi({ type: "string", format: "binary", description: "JPEG, PNG or WebP (checked by content), at most 10 MB" }),
  category: z.enum(CATEGORIES, {
    error: (issue) => (issue.input === undefined ? "required" : `must be one of: ${CATEGORIES.join(", ")}`),
  }),
});

/**
 * Any id is looked up: a malformed one is 404 like an unknown one, never 400
 * (so the path parameter is a plain string; ids are 24-hex ObjectIds).
 */
const idParams = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, description: "The Asset's id (a 24-hex ObjectId)", example: "65f1c0ffee0123456789abce" }),
});

/** The upload must be multipart; anything else is the usual 400 (before the form is parsed and validated). */
const requireMultipart = createMiddleware<IngestEnv>(async (c, next) => {
  if (!(c.req.header("content-type") ?? "").startsWith("multipart/form-data"))
    throw new HttpError(400, "bad_request", "expected a multipart/form-data body with fields 'image' and 'category'");
  await next();
});

/** An optional Idempotency-Key: a retried upload with the same key returns the first answer and creates nothing. */
const uploadHeadersSchema = z.object({
  "idempotency-key": z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, "must be 1-255 visible ASCII characters")
    .optional()
    .openapi({
      param: { name: "idempotency-key", in: "header" },
      description:
        "Makes a retried upload safe: the same key from the same user within 24 h returns the first answer (header `Idempotent-Replayed: true`) and creates nothing; with a different image, 422",
      example: "3f2b6c1e-7d4a-4f7e-9a53-2d8f0c1b9e77",
    }),
});

export const analyzeRoute = createRoute({
  method: "post",
  path: "/analyze-queue",
  operationId: "analyzeAsset",
  summary: "Upload a photo for analysis",
  tags: ["assets"],
  security: SECURITY,
  middleware: [requireMultipart] as const,
  request: { headers: uploadHeadersSchema, body: { required: true, content: { "multipart/form-data": { schema: uploadFormSchema } } } },
  responses: { 202: json(acceptedSchema, "Stored and queued"), ...errorResponses(400, 409, 413, 415, 422) },
});

export const listRoute = createRoute({
  method: "get",
  path: "/",
  operationId: "listAssets",
  summary: "The caller's Assets, newest first",
  tags: ["assets"],
  security: SECURITY,
  request: { query: listQuerySchema },
  responses: { 200: json(assetPageSchema, "A page"), ...errorResponses(400) },
});

export const getRoute = createRoute({
  method: "get",
  path: "/{id}",
  operationId: "getAsset",
  summary: "One of the caller's Assets",
  tags: ["assets"],
  security: SECURITY,
  request: { params: idParams },
  responses: { 200: json(assetResponseSchema, "The Asset"), ...errorResponses(404) },
});

export const retryRoute = createRoute({
  method: "post",
  path: "/{id}/retry",
  operationId: "retryAsset",
  summary: "Queue a failed Asset again",
  tags: ["assets"],
  security: SECURITY,
  request: { params: idParams },
  responses: { 202: json(acceptedSchema, "Queued again"), ...errorResponses(404, 409) },
});

export const reanalyzeRoute = createRoute({
  method: "post",
  path: "/{id}/reanalyze",
  operationId: "reanalyzeAsset",
  summary: "Analyse an active or failed Asset again",
  description:
    "Queued below new uploads, in the owner's fair share. An active Asset stays `active` and serves its current results until the new ones replace them (then `asset_processed` again); if the run fails, the old results stay and `reanalysis.error` says why. A failed Asset is retried (back to `processing`). Asking again while one is queued answers the same job.",
  tags: ["assets"],
  security: SECURITY,
  request: { params: idParams },
  responses: { 202: json(reanalysisAcceptedSchema, "Queued"), ...errorResponses(404, 409) },
});

export const deleteRoute = createRoute({
  method: "delete",
  path: "/{id}",
  operationId: "deleteAsset",
  summary: "Delete one of the caller's Assets and its images",
  description:
    "A run in progress is cancelled or its result discarded: no `asset_processed` follows. The owner's sockets get `asset_deleted`, their webhooks `asset.deleted`. Repeating it is a 204 again.",
  tags: ["assets"],
  security: SECURITY,
  request: { params: idParams },
  responses: { 204: { description: "Deleted" }, ...errorResponses(404) },
});

export const patchRoute = createRoute({
  method: "patch",
  path: "/{id}",
  operationId: "setAssetStatus",
  summary: "Archive an active Asset, or bring an archived one back",
  tags: ["assets"],
  security: SECURITY,
  request: { params: idParams, body: { required: true, content: { "application/json": { schema: assetPatchSchema } } } },
  responses: { 200: json(assetResponseSchema, "The Asset"), ...errorResponses(400, 404, 409) },
});

export interface AssetRoutesDeps {
  assets: AssetsService;
  reanalysis: ReanalysisService;
  removal: AssetRemoval;
  idempotency: IdempotentUploads;
  maxImageBytes: number;
}

export function assetRoutes(deps: AssetRoutesDeps) {
  const app = openApiApp();

  app.openapi(analyzeRoute, async (c) => {
    const { image, category } = c.req.valid("form");
    if (image.size > deps.maxImageBytes) throw new HttpError(413, "payload_too_large", `image is larger than ${deps.maxImageBytes} bytes`);
    const bytes = new Uint8Array(await image.arrayBuffer());
    const sniffed = sniffImage(bytes);
    if (!sniffed) throw new HttpError(415, "unsupported_media_type", "image must be a JPEG, PNG or WebP file (checked by its content)");
    const upload = () => deps.assets.submitUpload({ userId: c.var.user.userId, category, image: bytes, contentType: sniffed.contentType });
    const key = c.req.valid("header")["idempotency-key"];
    if (!key) return c.json(await upload(), 202);
    const { answer, replayed } = await deps.idempotency.once(c.var.user.userId, key, IdempotentUploads.fingerprint(category, bytes), upload);
    if (replayed) c.header(REPLAYED_HEADER, "true");
    return c.json(answer, 202);
  });

  app.openapi(listRoute, async (c) => {
    const { updatedSince, ...query } = c.req.valid("query");
    const page = await deps.assets.list({ ...query, userId: c.var.user.userId, ...(updatedSince ? { updatedSince: new Date(updatedSince) } : {}) });
    return c.json(page, 200);
  });

  app.openapi(getRoute, async (c) => c.json(await deps.assets.get(c.req.valid("param").id, c.var.user.userId), 200));

  app.openapi(retryRoute, async (c) => {
    const { id } = c.req.valid("param");
    return c.json(await deps.assets.retry(id, c.var.user.userId), 202);
  });

  app.openapi(reanalyzeRoute, async (c) => c.json(await deps.reanalysis.reanalyze(c.req.valid("param").id, c.var.user.userId), 202));

  app.openapi(deleteRoute, async (c) => {
    await deps.removal.delete(c.req.valid("param").id, c.var.user.userId);
    return c.body(null, 204);
  });

  app.openapi(patchRoute, async (c) => {
    const { id } = c.req.valid("param");
    return c.json(await deps.assets.setStatus(id, c.var.user.userId, c.req.valid("json").status), 200);
  });

  return app;
}
