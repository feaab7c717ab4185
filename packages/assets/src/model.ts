/**
 * The Asset model (docs/api-and-events.md, the data model). Besides the specification's
 * fields it keeps `category` (needed to queue the job again on retry),
 * timestamps (newest-first listing, `updatedSince` catch-up) and `listBucket`
 * (which group of its owner's Assets a newest-first page reads; never sent
 * to clients), plus the per-user counter those buckets come from.
 */
import { ANALYZERS, ASSET_STATUSES, CATEGORIES, REANALYSIS_STATES } from "@pipeline/contracts/asset";
import { createMissingIndexes, type IndexSpec } from "@pipeline/runtime/mongo";
import type mongoose from "mongoose";
import { type Connection, type InferSchemaType, Schema, type Types } from "mongoose";

const detectionSchema = new Schema({ value: { type: String, default: null }, confidence: { type: Number, min: 0, max: 1, required: true } }, { _id: false });
const sourceSchema = new Schema(
  { analyzer: { type: String, enum: ANALYZERS, required: true }, model: { type: String }, calibrated: { type: Boolean, required: true } },
  { _id: false },
);

const reanalysisSchema = new Schema(
  {
    jobId: { type: String, required: true },
    state: { type: String, enum: REANALYSIS_STATES, required: true },
    requestedAt: { type: Date, required: true },
    finishedAt: { type: Date },
    error: { type: String },
  },
  { _id: false },
);

export const assetSchema = new Schema(
  {
    userId: { type: Schema.Types.ObjectId, required: true, index: true },
    category: { type: String, enum: CATEGORIES, required: true },
    status: { type: String, enum: ASSET_STATUSES, default: "draft", index: true },
    images: {
      original: { url: { type: String } },
      processed: { url: { type: String } },
    },
    aiMetadata: {
      brand: { type: detectionSchema, default: undefined },
      model: { type: detectionSchema, default: undefined },
      colorway: { type: detectionSchema, default: undefined },
      processedAt: { type: Date },
      error: { type: String },
      source: { type: sourceSchema, default: undefined },
    },
    processingJobId: { type: String, index: { sparse: true } },
    /** The latest re-analysis of an Asset that had results (see the state machine's reanalyze). */
    reanalysis: { type: reanalysisSchema, default: undefined },
    /** floor((n - 1) / LIST_BUCKET_SIZE) for the owner's n-th Asset (see list-walk.ts). */
    listBucket: { type: Number },
  },
  { collection: "assets", timestamps: true, versionKey: false, minimize: true },
);
// A user's newest-first page reads one bucket per query; the catch-up reads by update time.
assetSchema.index({ userId: 1, listBucket: -1 });
assetSchema.index({ userId: 1, updatedAt: -1 });

export type AssetDoc = InferSchemaType<typeof assetSchema> & { _id: Types.ObjectId; createdAt: Date; updatedAt: Date };
export type AssetModel = mongoose.Model<InferSchemaType<typeof assetSchema>>;

/** The model bound to one connection (each service owns its connection; tests use their own database). */
export function assetModel(connection: Connection): AssetModel {
  return (connection.models.Asset as AssetModel | undefined) ?? connection.model("Asset", assetSchema);
}

/** The schema's indexes as `createIndexes` specifications (bench/lib/seed.ts builds the same). */
export function assetIndexSpecs(): IndexSpec[] {
  return assetSchema.indexes().map(([key, options]) => ({ ...(options as object), key: key as Record<string, 1 | -1> }));
}

/**
 * Creates the Asset indexes (ingest, at start): one `createIndexes` command, so MongoDB builds every
 * missing index in one scan of the collection, and a no-op for those that exist. Mongoose's automatic
 * index builds are off (`autoIndex: false` in @pipeline/runtime/mongo): they would run in every
 * service that loads the model, one `createIndex` at a time. Returns the indexes' names.
 */
export function ensureAssetIndexes(model: AssetModel): Promise<string[]> {
  return createMissingIndexes(model.collection, assetIndexSpecs());
}

/** One counter per user, `_id` the user's id: how many Assets they created, and the newest one's creation time. */
export const ASSET_COUNTERS_COLLECTION = "asset_counters";
export interface AssetCounter {
  _id: Types.ObjectId;
  n: number;
  /** How many of the `n` were deleted since (absent: none); the user has `n - deleted`. */
  deleted?: number;
  /** Never decreases, and every new Asset takes it as createdAt, so a later bucket never holds an older Asset. */
  lastCreatedAt: Date;
}
