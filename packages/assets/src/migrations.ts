/** `bun run migrate` for Assets: the layout of the dialect `to`, and its indexes. */
import { type MongoDialect, reconcileIndexes } from "@pipeline/runtime/mongo";
import type { Db, Document, ObjectId } from "mongodb";
import { bucketBulkLayout, intoBucketLayout, outOfBucketLayout, type Progress } from "./ferretdb-v1/layout.ts";
import { FERRETDB_ASSET_INDEXES } from "./ferretdb-v1/store.ts";
import { ASSETS_COLLECTION } from "./model.ts";
import { MONGO_ASSET_INDEXES } from "./mongodb/store.ts";

const INDEXES = { mongodb: MONGO_ASSET_INDEXES, "ferretdb-v1": FERRETDB_ASSET_INDEXES } as const;

export async function migrateAssets(db: Db, to: MongoDialect, progress: Progress): Promise<void> {
  const other = to === "mongodb" ? "ferretdb-v1" : "mongodb";
  if (to === "ferretdb-v1") await intoBucketLayout(db, progress);
  else await outOfBucketLayout(db, progress);
  await reconcileIndexes(db.collection(ASSETS_COLLECTION), INDEXES[to], INDEXES[other], progress);
}

/** What a dialect's layout adds to Assets loaded in bulk (the benchmark's seed), without going through the store. */
export interface BulkLayout {
  /** The fields of a user's `assetNumber`-th Asset (1-based, in creation order). */
  fieldsOf(assetNumber: number): Document;
  /** Writes what the layout keeps beside the Assets once every owner's Assets are in. */
  finish(db: Db, owners: { userId: ObjectId; count: number; newest: Date }[]): Promise<void>;
}

export function bulkLayout(dialect: MongoDialect): BulkLayout {
  return dialect === "ferretdb-v1" ? bucketBulkLayout : { fieldsOf: () => ({}), finish: async () => undefined };
}

/** The dialect's Asset index definitions (the benchmark's seed builds them after its load). */
export const assetIndexesOf = (dialect: MongoDialect) => INDEXES[dialect];
