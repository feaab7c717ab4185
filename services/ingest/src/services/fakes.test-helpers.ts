/**
 * In-memory stand-ins for AssetsService's repository, storage and producer
 * (unit tests only): no MongoDB, no Redis.
 */
import { newAssetDoc } from "@pipeline/assets/collection";
import { decodeCursor, encodeCursor, InvalidCursorError, positionOf } from "@pipeline/assets/cursor";
import type { AssetDoc } from "@pipeline/assets/model";
import { TRANSITIONS, type TransitionName } from "@pipeline/assets/state-machine";
import type { AssetFilter, AssetList, ListQuery, NewAsset } from "@pipeline/assets/store";
import type { AssetProgressState, AssetStatus } from "@pipeline/contracts/asset";
import type { JobData } from "@pipeline/contracts/jobs";
import type { ImageStorage, SaveOptions } from "@pipeline/storage";
import { ObjectId } from "mongodb";
import type { AssetStore, JobQueue } from "./assets-service.ts";

const allows = (name: TransitionName, status: AssetStatus | null | undefined) =>
  (TRANSITIONS[name].from as readonly (AssetStatus | null | undefined)[]).includes(status);

const FAKE_CURSOR = "fake";

/** Newest first: createdAt descending, then _id descending. */
const newestFirst = (a: AssetDoc, b: AssetDoc) => b.createdAt.getTime() - a.createdAt.getTime() || b._id.toHexString().localeCompare(a._id.toHexString());

/**
 * The store's methods with the semantics of its Mongo queries: owner scoping, newest-first order,
 * conditional transitions, cursors only it reads. The adapters' own ways of listing are tested
 * against the database (test/e2e/asset-store.test.ts); here a list is simply the sorted, filtered Assets.
 */
export class FakeAssetStore implements AssetStore {
  readonly assets = new Map<string, AssetDoc>();

  add(asset: AssetDoc): AssetDoc {
    this.assets.set(asset._id.toHexString(), { ...asset });
    return asset;
  }

  get(id: string): AssetDoc | undefined {
    return this.assets.get(id);
  }

  async createProcessing(input: NewAsset): Promise<void> {
    this.add(newAssetDoc(input, new Date()));
  }

  async findOwned(id: string, userId: string): Promise<AssetDoc | null> {
    const asset = this.assets.get(id);
    return asset && asset.userId.toHexString() === userId ? { ...asset } : null;
  }

  async findById(id: string): Promise<AssetDoc | null> {
    const asset = this.assets.get(id);
    return asset ? { ...asset } : null;
  }

  async list(query: ListQuery): Promise<AssetList> {
    const matching = this.matching(query);
    const skip = query.skip ?? 0;
    const after = query.after === undefined ? undefined : decodeCursor(FAKE_CURSOR, query.after)?.position;
    if (query.after !== undefined && !after) throw new InvalidCursorError();
    const rest = after ? matching.filter((a) => newestFirst(a, { _id: new ObjectId(after.id), createdAt: after.createdAt } as AssetDoc) > 0) : matching;
    return { items: rest.slice(skip, skip + query.limit).map((a) => ({ ...a })), total: matching.length };
  }

  cursorAfter(asset: AssetDoc): string {
    return encodeCursor(FAKE_CURSOR, positionOf(asset));
  }

  async reopenFailed(id: string, userId: string, jobId: string): Promise<AssetDoc | null> {
    const asset = this.assets.get(id);
    if (!asset || asset.userId.toHexString() !== userId || !allows("retry", asset.status)) return null;
    const { error: _dropped, ...meta } = asset.aiMetadata ?? {};
    Object.assign(asset, { status: TRANSITIONS.retry.to, processingJobId: jobId, aiMetadata: meta, updatedAt: new Date() });
    return { ...asset };
  }

  async markFailed(assetId: string, jobId: string, reason: string): Promise<AssetDoc | null> {
    const asset = this.assets.get(assetId);
    if (!asset || !allows("fail", asset.status)) return null;
    if (asset.processingJobId && asset.processingJobId !== jobId) return null;
    const now = new Date();
    Object.assign(asset, { status: TRANSITIONS.fail.to, aiMetadata: { ...asset.aiMetadata, error: reason, processedAt: now }, updatedAt: now });
    return { ...asset };
  }

  async setArchived(id: string, userId: string, archived: boolean): Promise<AssetDoc | null> {
    const asset = this.assets.get(id);
    const name = archived ? "archive" : "unarchive";
    if (!asset || asset.userId.toHexString() !== userId || !allows(name, asset.status)) return null;
    Object.assign(asset, { status: TRANSITIONS[name].to, updatedAt: new Date() });
    return { ...asset };
  }

  /** The user's Assets that pass the filter, newest first (createdAt, then id, descending). */
  private matching(filter: AssetFilter): AssetDoc[] {
    return [...this.assets.values()]
      .filter((a) => a.userId.toHexString() === filter.userId)
      .filter((a) => !filter.status || a.status === filter.status)
      .filter((a) => !filter.updatedSince || a.updatedAt >= filter.updatedSince)
      .sort(newestFirst);
  }
}

export class FakeStorage implements ImageStorage {
  readonly name = "local" as const;
  readonly saved: { bytes: Uint8Array; options: SaveOptions }[] = [];

  owns(url: string): boolean {
    return url.startsWith("https://media.test/");
  }

  async load(): Promise<Uint8Array> {
    throw new Error("ingest never loads images");
  }

  async save(bytes: Uint8Array, options: SaveOptions): Promise<{ url: string }> {
    this.saved.push({ bytes, options });
    return { url: `https://media.test/${options.kind}/${this.saved.length}.jpg` };
  }

  readonly removed: string[] = [];
  async remove(url: string): Promise<boolean> {
    this.removed.push(url);
    return true;
  }
}

/** Records what was queued; `failWith` makes the next enqueues throw (Redis down). */
export class FakeQueue implements JobQueue {
  readonly enqueued: { data: JobData; jobId: string }[] = [];
  readonly removed: string[] = [];
  failWith: Error | undefined;

  async enqueue(data: JobData, jobId: string): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.enqueued.push({ data, jobId });
  }

  async removeFinished(jobId: string): Promise<void> {
    this.removed.push(jobId);
  }

  /** Progress reported by runs, by job id. */
  readonly progress = new Map<string, AssetProgressState>();
  async progressOf(jobId: string): Promise<AssetProgressState | null> {
    return this.progress.get(jobId) ?? null;
  }
}
