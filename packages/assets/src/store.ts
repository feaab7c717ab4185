/**
 * The one store of Assets, for ingest and the ai-worker alike, with an adapter
 * per database dialect, chosen once at connect (MONGO_DIALECT):
 * - mongodb/store.ts: what MongoDB serves well (a newest-first page is one
 *   sorted, limited query on a compound index; an upload writes the Asset alone);
 * - ferretdb-v1/store.ts: the embedded development database, which sorts and
 *   limits nothing in SQL (list buckets numbered by a per-user counter).
 * Both share the conditional updates of the state machine (collection.ts).
 */
import type { AssetStatus, Category, ExtractedMetadata, MetadataSource } from "@pipeline/contracts/asset";
import type { IndexSync, MongoConnection, MongoDialect } from "@pipeline/runtime/mongo";
import type { Document, ObjectId } from "mongodb";
import { FerretDbAssetStore } from "./ferretdb-v1/store.ts";
import type { AssetDoc } from "./model.ts";
import { MongoAssetStore } from "./mongodb/store.ts";

export interface AssetFilter {
  userId: string;
  status?: AssetStatus;
  updatedSince?: Date;
}

export interface ListQuery extends AssetFilter {
  limit: number;
  skip?: number;
  /** A cursor this store made (`cursorAfter`); another is an InvalidCursorError. */
  after?: string;
}

/** A page of a user's Assets and how many of theirs match the filter. */
export interface AssetList {
  items: AssetDoc[];
  total: number;
}

/** A run's results: the stored cut-out, the metadata and where it came from. */
export interface ActiveResult {
  processedUrl: string;
  metadata: ExtractedMetadata;
  source: MetadataSource;
}

/** Which Assets an operator's re-analysis takes (POST /api/admin/reanalyze). */
export interface ReanalysisFilter {
  statuses: AssetStatus[];
  category?: Category | undefined;
  /** Analysed (aiMetadata.processedAt) before this time. */
  processedBefore?: Date | undefined;
  /** aiMetadata.source.analyzer / .model. */
  analyzer?: string | undefined;
  model?: string | undefined;
}

export interface NewAsset {
  id: ObjectId;
  userId: string;
  category: Category;
  originalUrl: string;
  jobId: string;
}

export interface AssetStore {
  readonly dialect: MongoDialect;
  /** Creates the adapter's missing indexes and reports those whose options differ (at start, in the background). */
  syncIndexes(): Promise<IndexSync>;
  /** What `bun run migrate` still has to do for this adapter, as a sentence; null when nothing. */
  pendingMigration(): Promise<string | null>;
  /** Creates the Asset already `processing` with its job id, so the job can never see it in an earlier state. */
  createProcessing(input: NewAsset): Promise<void>;
  findOwned(id: string, userId: string): Promise<AssetDoc | null>;
  findById(id: string): Promise<AssetDoc | null>;
  /** Assets `processing` since before `before`, at most `limit`: candidates for the stranded-asset sweep. */
  findProcessingSince(before: Date, limit: number): Promise<AssetDoc[]>;
  /** A page of the user's Assets, newest first (createdAt, then _id), and the total matching the filter. */
  list(query: ListQuery): Promise<AssetList>;
  /** The cursor of the page after `asset` (an item `list` returned). */
  cursorAfter(asset: AssetDoc): string;
  /** The database's plan of each query `list` runs for `query` (`explain`), in order. */
  explainList(query: ListQuery): Promise<Document[]>;
  /** A page of the Assets `filter` matches, in _id order after `afterId` (an operator's resumable re-analysis walk), with only what queueing a run needs. */
  findForReanalysis(filter: ReanalysisFilter, limit: number, afterId?: string): Promise<AssetDoc[]>;
  /** reanalyze: an active Asset (the owner's, when `userId` is given) still naming `currentJobId` names the run `jobId` instead; null otherwise. */
  requestReanalysis(id: string, currentJobId: string | undefined, jobId: string, userId?: string): Promise<AssetDoc | null>;
  /** reanalyzed: this re-analysis run's results replace the Asset's; null when the Asset is no longer this run's. */
  markReanalyzed(assetId: string, jobId: string, result: ActiveResult): Promise<AssetDoc | null>;
  /** reanalysisFailed: the old results stay, the reason is recorded; null when the Asset is no longer this run's. */
  markReanalysisFailed(assetId: string, jobId: string, reason: string): Promise<AssetDoc | null>;
  /** retry: a `failed` Asset of the owner goes back to `processing` under a new job id; null when it is not failed. */
  reopenFailed(id: string, userId: string, jobId: string): Promise<AssetDoc | null>;
  /** archive / unarchive: the owner's Asset; null when it is not theirs or not in a state that allows it. */
  setArchived(id: string, userId: string, archived: boolean): Promise<AssetDoc | null>;
  /** Deletes the owner's Asset, whatever its status; the deleted document, or null when it was not theirs (or is gone). */
  deleteOwned(id: string, userId: string): Promise<AssetDoc | null>;
  /** complete: this run's results; null when the Asset was no longer this run's to finish. */
  markActive(assetId: string, jobId: string, result: ActiveResult): Promise<AssetDoc | null>;
  /** fail: the reason, for run `jobId` (or an Asset that recorded no job id); null when it was not this run's to fail. */
  markFailed(assetId: string, jobId: string, reason: string): Promise<AssetDoc | null>;
}

/** The Asset store of the connection's dialect. */
export function openAssetStore(connection: Pick<MongoConnection, "db" | "dialect">): AssetStore {
  return connection.dialect === "ferretdb-v1" ? new FerretDbAssetStore(connection.db) : new MongoAssetStore(connection.db);
}
