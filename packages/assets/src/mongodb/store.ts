/**
 * The Asset store on MongoDB: a newest-first page is
 * `find(filter).sort({createdAt: -1, _id: -1}).limit(n + 1)` after a keyset
 * cursor, on a compound index that serves the filter and the sort (one for
 * the plain list, one for the status-filtered list); an upload writes the
 * Asset and nothing else. The total is a `countDocuments` of the same filter
 * beside the page: on the index's prefix it counts keys without fetching a
 * document (COUNT_SCAN), which costs less than the page for the collections a
 * collector has (thousands); kept because the page schema requires it.
 */
import { guardMongo, type IndexSpec, type IndexSync, syncAllIndexes } from "@pipeline/runtime/mongo";
import type { Document } from "mongodb";
import { AssetCollection, afterFilter, newAssetDoc } from "../collection.ts";
import { decodeCursor, encodeCursor, InvalidCursorError, type ListPosition, positionOf } from "../cursor.ts";
import type { AssetDoc } from "../model.ts";
import type { AssetList, AssetStore, ListQuery, NewAsset } from "../store.ts";

/** The cursor format of this adapter: creation time and id. */
const CURSOR_FORMAT = "m1";

/** The Asset indexes on MongoDB, options included (DESIGN: userId, status, sparse processingJobId; and the lists'). */
export const MONGO_ASSET_INDEXES: IndexSpec[] = [
  { key: { userId: 1 }, name: "userId_1" },
  { key: { status: 1 }, name: "status_1" },
  { key: { processingJobId: 1 }, name: "processingJobId_1", sparse: true },
  // Newest-first pages of a user: equality on userId, then the sort's keys in its direction.
  { key: { userId: 1, createdAt: -1, _id: -1 }, name: "userId_1_createdAt_-1__id_-1" },
  { key: { userId: 1, status: 1, createdAt: -1, _id: -1 }, name: "userId_1_status_1_createdAt_-1__id_-1" },
  // The catch-up (`updatedSince`).
  { key: { userId: 1, updatedAt: -1 }, name: "userId_1_updatedAt_-1" },
];

export class MongoAssetStore extends AssetCollection implements AssetStore {
  readonly dialect = "mongodb" as const;

  syncIndexes(): Promise<IndexSync> {
    return syncAllIndexes([[this.assets, MONGO_ASSET_INDEXES]]);
  }

  /** Nothing: fields or collections another adapter keeps beside the Asset do not change what this one reads. */
  async pendingMigration(): Promise<string | null> {
    return null;
  }

  async createProcessing(input: NewAsset): Promise<void> {
    await guardMongo(() => this.assets.insertOne(newAssetDoc(input, new Date())));
  }

  async list(query: ListQuery): Promise<AssetList> {
    return this.listByQuery(query, query.after !== undefined ? afterFilter(readCursor(query.after)) : null);
  }

  cursorAfter(asset: AssetDoc): string {
    return encodeCursor(CURSOR_FORMAT, positionOf(asset));
  }

  async explainList(query: ListQuery): Promise<Document[]> {
    const after = query.after !== undefined ? afterFilter(readCursor(query.after)) : null;
    return guardMongo(async () => [await this.pageQuery(query, after).explain("queryPlanner")]);
  }

  deleteOwned(id: string, userId: string): Promise<AssetDoc | null> {
    return this.removeOwned(id, userId);
  }
}

function readCursor(cursor: string): ListPosition {
  const decoded = decodeCursor(CURSOR_FORMAT, cursor);
  if (!decoded || decoded.extra.length > 0) throw new InvalidCursorError();
  return decoded.position;
}
