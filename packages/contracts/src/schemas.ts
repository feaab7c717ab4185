/**
 * The pipeline's wire contracts, written once: categories, job data and the
 * `asset_processed` payloads (seed: data-model.md, field for field).
 */
import { z } from "zod";

export const CATEGORIES = ["sneaker", "lego", "camera", "other"] as const;
export const categorySchema = z.enum(CATEGORIES);
export type Category = z.infer<typeof categorySchema>;

export const ASSET_STATUSES = ["draft", "processing", "partial", "active", "archived", "failed"] as const;
export const assetStatusSchema = z.enum(ASSET_STATUSES);
export type AssetStatus = z.infer<typeof assetStatusSchema>;

export const objectIdSchema = z.string().regex(/^[0-9a-f]{24}$/i, "must be a 24-hex ObjectId");

/** One extracted attribute: `value` is null when nothing was recognised. */
export const detectionSchema = z.object({
  value: z.string().nullable(),
  confidence: z.number().min(0).max(1),
});
export type Detection = z.infer<typeof detectionSchema>;

export const extractedMetadataSchema = z.object({
  brand: detectionSchema,
  model: detectionSchema,
  colorway: detectionSchema,
});
export type ExtractedMetadata = z.infer<typeof extractedMetadataSchema>;

export const NO_DETECTION: Detection = Object.freeze({ value: null, confidence: 0 }) as Detection;

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
  return jobDataSchema.refine(
    (data) => data.imageUrl.startsWith("https://") || (plainHttpBase !== undefined && data.imageUrl.startsWith(plainHttpBase)),
    { message: "imageUrl must be an HTTPS URL", path: ["imageUrl"] },
  );
}

export const assetProcessedSuccessSchema = z.object({
  event: z.literal("asset_processed"),
  assetId: objectIdSchema,
  status: z.literal("active"),
  aiMetadata: extractedMetadataSchema,
  processedImageUrl: z.string().url(),
  timestamp: z.iso.datetime(),
});
export const assetProcessedFailureSchema = z.object({
  event: z.literal("asset_processed"),
  assetId: objectIdSchema,
  status: z.literal("failed"),
  error: z.string().min(1),
  timestamp: z.iso.datetime(),
});
export const assetProcessedSchema = z.discriminatedUnion("status", [
  assetProcessedSuccessSchema,
  assetProcessedFailureSchema,
]);
export type AssetProcessedEvent = z.infer<typeof assetProcessedSchema>;
export const ASSET_PROCESSED_EVENT = "asset_processed";

/**
 * What the worker hands to the notifiers through the outcomes queue: the
 * event plus the room's owner (the event itself carries no userId).
 */
export const outcomeJobSchema = z.object({
  userId: objectIdSchema,
  payload: assetProcessedSchema,
});
export type OutcomeJob = z.infer<typeof outcomeJobSchema>;
