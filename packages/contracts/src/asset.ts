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

/**
 * An analyzer's own evidence (before calibration) below this is no answer:
 * the detection becomes `{value: null, confidence: 0}`. The local analyzer's
 * catalogue match and the hosted model's stated confidence share it.
 */
export const MIN_EVIDENCE = 0.3;

/** A detection as stored and sent: a null value has confidence 0; otherwise clamped to 0..1 and rounded to 3 decimals. */
export function finaliseDetection(d: Detection): Detection {
  if (d.value === null) return { value: null, confidence: 0 };
  return { value: d.value, confidence: Math.round(Math.min(1, Math.max(0, d.confidence)) * 1000) / 1000 };
}

export const ANALYZERS = ["local", "openai"] as const;

/**
 * Where an Asset's metadata came from: the analyzer, the hosted model's name,
 * and whether the confidences are calibrated (the chance of being right on
 * the evaluation set) or the model's own estimate.
 */
export const metadataSourceSchema = z
  .object({ analyzer: z.enum(ANALYZERS), model: z.string().optional(), calibrated: z.boolean() })
  .meta({ id: "MetadataSource" });
export type MetadataSource = z.infer<typeof metadataSourceSchema>;

const imageRefSchema = z.object({ url: z.string() });

/** An Asset as clients see it: ids as hex strings, dates as ISO strings. */
/** The stages an AI run reports, in order, with the progress (0-100) each one starts at. */
export const PROGRESS_STAGES = { downloading: 10, removing_background: 30, analyzing: 60, storing: 85 } as const;
export type ProgressStage = keyof typeof PROGRESS_STAGES;
export const progressStageSchema = z.enum(Object.keys(PROGRESS_STAGES) as [ProgressStage, ...ProgressStage[]]);

/** Where a `processing` Asset's run has got to (its AI job's progress). */
export const assetProgressStateSchema = z.object({ stage: progressStageSchema, progress: z.number().int().min(0).max(100) }).meta({ id: "AssetProgress" });
export type AssetProgressState = z.infer<typeof assetProgressStateSchema>;

export const REANALYSIS_STATES = ["queued", "completed", "failed"] as const;

/**
 * The latest re-analysis of an Asset that had results: queued (the current results are still
 * served), completed (they were replaced) or failed (they were kept; `error` says why).
 */
export const reanalysisStateSchema = z
  .object({
    jobId: z.string(),
    state: z.enum(REANALYSIS_STATES),
    requestedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().optional(),
    error: z.string().optional(),
  })
  .meta({ id: "Reanalysis" });
export type ReanalysisState = z.infer<typeof reanalysisStateSchema>;

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
        /** Absent on Assets analysed before it was recorded. */
        source: metadataSourceSchema.optional(),
      })
      .optional(),
    processingJobId: z.string().optional(),
    /** Absent until the Asset's analysis is first run again. */
    reanalysis: reanalysisStateSchema.optional(),
    /** While `processing`: the stage its run has reached (absent before the first report). Only on GET /api/assets/:id. */
    progress: assetProgressStateSchema.optional(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: "Asset" });
export type AssetResponse = z.infer<typeof assetResponseSchema>;

/** The answer to an accepted upload or retry: the work is queued. */
export const acceptedSchema = z.object({ assetId: objectIdSchema, jobId: z.string(), status: z.literal("processing") }).meta({ id: "Accepted" });
export type Accepted = z.infer<typeof acceptedSchema>;

/**
 * The answer to a re-analysis request: queued under `jobId`. An active Asset stays `active` (and
 * serves its current results until the new ones replace them); a failed one goes back to `processing`, as on a retry.
 */
export const reanalysisAcceptedSchema = z
  .object({ assetId: objectIdSchema, jobId: z.string(), status: z.enum(["active", "processing"]) })
  .meta({ id: "ReanalysisAccepted" });
export type ReanalysisAccepted = z.infer<typeof reanalysisAcceptedSchema>;

/** PATCH /api/assets/:id: the states an owner may set (from `active` or `archived` only). */
export const assetPatchSchema = z.object({ status: z.enum(["archived", "active"]) }).meta({ id: "AssetPatch" });
export type AssetPatch = z.infer<typeof assetPatchSchema>;

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
