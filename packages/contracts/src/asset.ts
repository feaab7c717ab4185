/**
 * The Asset's wire contracts: categories, statuses, detections, and the
 * shape every API response serialises an Asset through (`assetResponseSchema`).
 * The OpenAPI document's Asset schema is generated from it.
 */
import { z } from "zod";

export const CATEGORIES = ["sneaker", "lego", "camera", "other"] as const;
export const categorySchema = z.enum(CATEGORIES);
export type Category = z.infer<typeof categorySchema>;

export const ASSET_STATUSES = ["draft", "processing", "partial", "active", "archived", "failed"] as const;
export const assetStatusSchema = z.enum(ASSET_STATUSES);
export type AssetStatus = z.infer<typeof assetStatusSchema>;

export const objectIdSchema = z.string().regex(/^[0-9a-fA-F]{24}$/, "must be a 24-hex ObjectId");

/** One extracted attribute: `value` is null when nothing was recognised. */
export const detectionSchema = z
  .object({
    value: z.string().nullable(),
    confidence: z.number().min(0).max(1),
  })
  .meta({ id: "Detection" });
export type Detection = z.infer<typeof detectionSchema>;

export const extractedMetadataSchema = z.object({
  brand: detectionSchema,
  model: detectionSchema,
  colorway: detectionSchema,
});
export type ExtractedMetadata = z.infer<typeof extractedMetadataSchema>;

export const NO_DETECTION: Detection = Object.freeze({ value: null, confidence: 0 }) as Detection;

const imageRefSchema = z.object({ url: z.string() });

/** An Asset as clients see it: ids as hex strings, dates as ISO strings. */
export const assetResponseSchema = z
  .object({
    id: objectIdSchema,
    /** Same as `id`, kept for clients that read MongoDB's name for it. */
    _id: objectIdSchema,
    userId: objectIdSchema,
    category: categorySchema,
    status: assetStatusSchema,
    images: z.object({ original: imageRefSchema.optional(), processed: imageRefSchema.optional() }),
    aiMetadata: z
      .object({
        brand: detectionSchema.optional(),
        model: detectionSchema.optional(),
        colorway: detectionSchema.optional(),
        processedAt: z.iso.datetime().optional(),
        error: z.string().optional(),
      })
      .optional(),
    processingJobId: z.string().optional(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: "Asset" });
export type AssetResponse = z.infer<typeof assetResponseSchema>;

/** The answer to an accepted upload or retry: the work is queued. */
export const acceptedSchema = z.object({ assetId: objectIdSchema, jobId: z.string(), status: z.literal("processing") }).meta({ id: "Accepted" });
export type Accepted = z.infer<typeof acceptedSchema>;

/** A page of a user's Assets, newest first. */
export const assetPageSchema = z
  .object({
    items: z.array(assetResponseSchema),
    /** Pass as `cursor` for the next page; null on the last page. */
    nextCursor: z.string().nullable(),
    total: z.number().int().min(0),
    limit: z.number().int().min(1),
    page: z.number().int().min(1).nullable(),
  })
  .meta({ id: "AssetPage" });
export type AssetPage = z.infer<typeof assetPageSchema>;
