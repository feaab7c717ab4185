/**
 * The Asset model (docs/api-and-events.md, the data model): the mongoose Schema is the one
 * definition of the stored document's shape, and `AssetDoc` is derived from it. Besides the
 * specification's fields it keeps `category` (needed to queue the job again on retry) and
 * timestamps (newest-first listing, `updatedSince` catch-up). An adapter may keep fields of its
 * own beside these; none is ever sent to clients (response.ts).
 *
 * Index definitions live with the store adapters (mongodb/store.ts, ferretdb-v1/), options
 * included, so the schema declares none, and mongoose creates neither indexes nor the collection
 * by itself (`autoIndex`, `autoCreate` off): the adapters' index sync at start is the one path.
 */
import { ANALYZERS, ASSET_STATUSES, CATEGORIES, REANALYSIS_STATES } from "@pipeline/contracts/asset";
import type { ObjectId } from "mongodb";
import { type Connection, type InferSchemaType, type Model, Schema } from "mongoose";

export const ASSETS_COLLECTION = "assets";

const detectionSchema = new Schema({ value: { type: String, default: null }, confidence: { type: Number, min: 0, max: 1, required: true } }, { _id: false });

const sourceSchema = new Schema(
  { analyzer: { type: String, enum: ANALYZERS, required: true }, model: { type: String }, calibrated: { type: Boolean, required: true } },
  { _id: false },
);

const aiMetadataSchema = new Schema(
  {
    brand: { type: detectionSchema, default: undefined },
    model: { type: detectionSchema, default: undefined },
    colorway: { type: detectionSchema, default: undefined },
    processedAt: { type: Date },
    error: { type: String },
    source: { type: sourceSchema, default: undefined },
  },
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
    userId: { type: Schema.Types.ObjectId, required: true },
    category: { type: String, enum: CATEGORIES, required: true },
    status: { type: String, enum: ASSET_STATUSES, default: "draft", required: true },
    images: {
      original: { url: { type: String } },
      processed: { url: { type: String } },
    },
    aiMetadata: { type: aiMetadataSchema, default: undefined },
    processingJobId: { type: String },
    /** The latest re-analysis of an Asset that had results (see the state machine's reanalyze). */
    reanalysis: { type: reanalysisSchema, default: undefined },
  },
  { collection: ASSETS_COLLECTION, timestamps: true, versionKey: false, minimize: true, autoIndex: false, autoCreate: false },
);

/** The stored Asset, as the schema defines it (`_id` as the driver's ObjectId, which the stores use). */
export type AssetDoc = InferSchemaType<typeof assetSchema> & { _id: ObjectId };
export type AssetModel = Model<InferSchemaType<typeof assetSchema>>;

/** The model bound to one connection (each service owns its connection; tests use their own database). */
export function assetModel(connection: Connection): AssetModel {
  return (connection.models.Asset as AssetModel | undefined) ?? connection.model("Asset", assetSchema);
}
