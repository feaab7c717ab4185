/**
 * Every read and write of Assets, for ingest and the ai-worker alike. Reads
 * for users are scoped to their owner; every status change is one
 * conditional update built from the state machine, returning the updated
 * document (no write-then-reread). New Assets are numbered by a per-user
 * counter (`asset_counters`) into list buckets, which newest-first pages
 * walk (list-walk.ts). "MongoDB is down" becomes a 503.
 */
import type { AssetStatus, Category, ExtractedMetadata, MetadataSource } from "@pipeline/contracts/asset";
import { objectIdSchema } from "@pipeline/contracts/asset";
import { guardMongo, isDuplicateKey } from "@pipeline/runtime/mongo";
import { type Collection, Types } from "mongoose";
import { LIST_BUCKET_SIZE, type ListPosition, listBucketOf, newestFirst, walkBuckets } from "./list-walk.ts";
import { ASSET_COUNTERS_COLLECTION, type AssetCounter, type AssetDoc, type AssetModel } from "./model.ts";
import { TRANSITIONS, type TransitionName } from "./state-machine.ts";

export interface AssetFilter {
  userId: string;
  status?: AssetStatus;
  updatedSince?: Date;
}

export interface ListQuery extends AssetFilter {
  limit: number;
  skip?: number;
  after?: ListPosition;
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
  id: Types.ObjectId;
  userId: string;
  category: Category;
  originalUrl: string;
  jobId: string;
}

/** Bucket updates per command when numbering a user's older Assets (see backfill). */
const BACKFILL_BATCH = 20;

const isObjectId = (id: string) => objectIdSchema.safeParse(id).success;

function listFilter(query: AssetFilter): Record<string, unknown> {
  const filter: Record<string, unknown> = { userId: new Types.ObjectId(query.userId) };
  if (query.status) filter.status = query.status;
  if (query.updatedSince) filter.updatedAt = { $gte: query.updatedSince };
  return filter;
}

/** The filter that lets `transition` happen, for the run `jobId` where the transition requires one. */
function transitionFilter(name: TransitionName, assetId: string, jobId?: string): Record<string, unknown> {
  const transition = TRANSITIONS[name];
  const filter: Record<string, unknown> = { _id: new Types.ObjectId(assetId), status: { $in: [...transition.from] } };
  if (transition.requiresJob) filter.$or = [{ processingJobId: jobId }, { processingJobId: { $exists: false } }];
  return filter;
}

export class AssetRepository {
  private readonly counters: Collection<AssetCounter>;

  /** `bucketSize` is LIST_BUCKET_SIZE except in tests; every process sharing a database must use the same. */
  constructor(
    private readonly assets: AssetModel,
    private readonly bucketSize = LIST_BUCKET_SIZE,
  ) {
    this.counters = assets.db.collection<AssetCounter>(ASSET_COUNTERS_COLLECTION);
  }

  /**
   * Creates the Asset already `processing` with its job id, so the job can never see it in an earlier state.
   * The owner's counter numbers it first, which gives its list bucket and its creation time.
   */
  async createProcessing(input: NewAsset): Promise<void> {
    const userId = new Types.ObjectId(input.userId);
    const counter = await guardMongo(() => this.countNewAsset(userId));
    const createdAt = counter.lastCreatedAt;
    // The driver's insert: the input is validated already, and mongoose's document machinery costs more than the write.
    await guardMongo(() =>
      this.assets.collection.insertOne({
        _id: input.id,
        userId,
        category: input.category,
        status: "processing",
        images: { original: { url: input.originalUrl } },
        processingJobId: input.jobId,
        listBucket: listBucketOf(counter.n, this.bucketSize),
        createdAt,
        updatedAt: createdAt,
      }),
    );
  }

  findOwned(id: string, userId: string): Promise<AssetDoc | null> {
    if (!isObjectId(id)) return Promise.resolve(null);
    return guardMongo(() => this.assets.collection.findOne<AssetDoc>({ _id: new Types.ObjectId(id), userId: new Types.ObjectId(userId) }));
  }

  /** Assets `processing` since before `before` (oldest update first is not promised), at most `limit`: candidates for the stranded-asset sweep. */
  findProcessingSince(before: Date, limit: number): Promise<AssetDoc[]> {
    return guardMongo(() => this.assets.collection.find<AssetDoc>({ status: "processing", updatedAt: { $lt: before } }, { limit }).toArray());
  }

  findById(id: string): Promise<AssetDoc | null> {
    if (!isObjectId(id)) return Promise.resolve(null);
    return guardMongo(() => this.assets.collection.findOne<AssetDoc>({ _id: new Types.ObjectId(id) }));
  }

  /**
   * A page of the user's Assets, newest first (createdAt, then _id), and the total matching the filter.
   * Without `updatedSince` or a status it walks list buckets (list-walk.ts) and the total is the
   * counter's `n`; with either, a plain query and a count of what it matches.
   */
  list(query: ListQuery): Promise<AssetList> {
    // The catch-up by update time is rare: it keeps the plain query, which FerretDB filters and sorts in Go over all of the user's Assets.
    // A status filter keeps it too: FerretDB runs {userId, status} in SQL and decodes only the matches,
    // where the bucket walk would read every bucket down to the first when matches are rare.
    if (query.updatedSince || query.status) return guardMongo(() => this.listByQuery(query));
    return guardMongo(async () => {
      const userId = new Types.ObjectId(query.userId);
      const counter = await this.counterOf(userId);
      if (!counter) return { items: [], total: 0 };
      const items = await walkBuckets({
        top: listBucketOf(counter.n, this.bucketSize),
        limit: query.limit,
        skip: query.skip ?? 0,
        ...(query.after ? { after: query.after } : {}),
        readBucket: (listBucket) => this.assets.collection.find<AssetDoc>({ userId, listBucket }).toArray(),
      });
      return { items, total: Math.max(0, counter.n - (counter.deleted ?? 0)) };
    });
  }

  /** retry: a `failed` Asset of the owner goes back to `processing` under a new job id; null when it is not failed. */
  reopenFailed(id: string, userId: string, jobId: string): Promise<AssetDoc | null> {
    if (!isObjectId(id)) return Promise.resolve(null);
    const filter = { ...transitionFilter("retry", id), userId: new Types.ObjectId(userId) };
    return this.apply(filter, {
      $set: { status: TRANSITIONS.retry.to, processingJobId: jobId, updatedAt: new Date() },
      $unset: { "aiMetadata.error": "" },
    });
  }

  /**
   * A page of the Assets `filter` matches, in _id order after `afterId` (the resumable walk of an
   * operator's re-analysis), with only what queueing a run needs.
   */
  findForReanalysis(filter: ReanalysisFilter, limit: number, afterId?: string): Promise<AssetDoc[]> {
    const query: Record<string, unknown> = { status: { $in: filter.statuses } };
    if (filter.category) query.category = filter.category;
    if (filter.processedBefore) query["aiMetadata.processedAt"] = { $lt: filter.processedBefore };
    if (filter.analyzer) query["aiMetadata.source.analyzer"] = filter.analyzer;
    if (filter.model) query["aiMetadata.source.model"] = filter.model;
    if (afterId && isObjectId(afterId)) query._id = { $gt: new Types.ObjectId(afterId) };
    const projection = { userId: 1, status: 1, category: 1, "images.original.url": 1, processingJobId: 1, reanalysis: 1 };
    return guardMongo(() => this.assets.collection.find<AssetDoc>(query, { projection, sort: { _id: 1 }, limit }).toArray());
  }

  /**
   * reanalyze: an active Asset (the owner's, when `userId` is given) that still names `currentJobId` names the
   * re-analysis run `jobId` instead, and stays active; null when it is not active or another request got there first.
   */
  requestReanalysis(id: string, currentJobId: string | undefined, jobId: string, userId?: string): Promise<AssetDoc | null> {
    if (!isObjectId(id)) return Promise.resolve(null);
    const filter: Record<string, unknown> = {
      ...transitionFilter("reanalyze", id),
      processingJobId: currentJobId ?? { $exists: false },
      ...(userId ? { userId: new Types.ObjectId(userId) } : {}),
    };
    const now = new Date();
    return this.apply(filter, { $set: { processingJobId: jobId, reanalysis: { jobId, state: "queued", requestedAt: now }, updatedAt: now } });
  }

  /** reanalyzed: this re-analysis run's results replace the Asset's; null when the Asset is no longer this run's (deleted, superseded, finished). */
  markReanalyzed(assetId: string, jobId: string, result: ActiveResult): Promise<AssetDoc | null> {
    const now = new Date();
    return this.apply(reanalysisFilter("reanalyzed", assetId, jobId), {
      $set: { ...resultFields(result, now), "reanalysis.state": "completed", "reanalysis.finishedAt": now },
      $unset: { "reanalysis.error": "" },
    });
  }

  /** reanalysisFailed: the old results stay, the reason is recorded; null when the Asset is no longer this run's. */
  markReanalysisFailed(assetId: string, jobId: string, reason: string): Promise<AssetDoc | null> {
    if (!isObjectId(assetId)) return Promise.resolve(null);
    const now = new Date();
    return this.apply(reanalysisFilter("reanalysisFailed", assetId, jobId), {
      $set: { "reanalysis.state": "failed", "reanalysis.error": reason, "reanalysis.finishedAt": now, updatedAt: now },
    });
  }

  /** archive / unarchive: the owner's Asset; null when it is not theirs or not in a state that allows it. */
  setArchived(id: string, userId: string, archived: boolean): Promise<AssetDoc | null> {
    if (!isObjectId(id)) return Promise.resolve(null);
    const name = archived ? "archive" : "unarchive";
    const filter = { ...transitionFilter(name, id), userId: new Types.ObjectId(userId) };
    return this.apply(filter, { $set: { status: TRANSITIONS[name].to, updatedAt: new Date() } });
  }

  /** Deletes the owner's Asset, whatever its status; the deleted document, or null when it was not theirs (or is gone). */
  async deleteOwned(id: string, userId: string): Promise<AssetDoc | null> {
    if (!isObjectId(id)) return null;
    const owner = new Types.ObjectId(userId);
    const deleted = (await guardMongo(() => this.assets.collection.findOneAndDelete({ _id: new Types.ObjectId(id), userId: owner }))) as AssetDoc | null;
    // The counter keeps numbering buckets by `n`; the total is `n - deleted`.
    if (deleted?.listBucket != null) await guardMongo(() => this.counters.updateOne({ _id: owner }, { $inc: { deleted: 1 } }));
    return deleted;
  }

  /** complete: this run's results; null when the Asset was no longer this run's to finish. */
  markActive(assetId: string, jobId: string, result: ActiveResult): Promise<AssetDoc | null> {
    const now = new Date();
    return this.apply(
      { ...transitionFilter("complete", assetId, jobId), processingJobId: jobId },
      { $set: { status: TRANSITIONS.complete.to, ...resultFields(result, now) }, $unset: { "aiMetadata.error": "" } },
    );
  }

  /**
   * fail: the reason, for run `jobId` (or an Asset that recorded no job id,
   * when the job data was too broken to trust); null when it was not this run's to fail.
   */
  markFailed(assetId: string, jobId: string, reason: string): Promise<AssetDoc | null> {
    if (!isObjectId(assetId)) return Promise.resolve(null);
    const now = new Date();
    return this.apply(transitionFilter("fail", assetId, jobId), {
      $set: { status: TRANSITIONS.fail.to, "aiMetadata.error": reason, "aiMetadata.processedAt": now, updatedAt: now },
    });
  }

  private apply(filter: Record<string, unknown>, update: Record<string, unknown>): Promise<AssetDoc | null> {
    return guardMongo(() => this.assets.collection.findOneAndUpdate(filter, update, { returnDocument: "after" })) as Promise<AssetDoc | null>;
  }

  /** Today's query: filtered, sorted and counted by the database. */
  private async listByQuery(query: ListQuery): Promise<AssetList> {
    const filter = listFilter(query);
    const [items, total] = await Promise.all([
      this.assets.collection
        .find<AssetDoc>(query.after ? { ...filter, ...afterFilter(query.after) } : filter)
        .sort({ createdAt: -1, _id: -1 })
        .skip(query.skip ?? 0)
        .limit(query.limit)
        .toArray(),
      this.assets.collection.countDocuments(filter),
    ]);
    return { items, total };
  }

  /**
   * Counts one more Asset of the user. `$max` keeps `lastCreatedAt` from going backwards (replicas'
   * clocks, racing requests), so the new Asset's createdAt is never older than a lower-numbered one's.
   */
  private async countNewAsset(userId: Types.ObjectId): Promise<AssetCounter> {
    const update = { $inc: { n: 1 }, $max: { lastCreatedAt: new Date() } };
    const counted = await this.counters.findOneAndUpdate({ _id: userId }, update, { returnDocument: "after" });
    if (counted) return counted;
    // No counter yet: number the Assets the user stored before buckets, if any, then count on.
    await this.backfill(userId);
    return this.upsertCount(userId, update);
  }

  private async upsertCount(userId: Types.ObjectId, update: Record<string, unknown>, retries = 1): Promise<AssetCounter> {
    try {
      const counted = await this.counters.findOneAndUpdate({ _id: userId }, update, { upsert: true, returnDocument: "after" });
      if (!counted) throw new Error("upsert returned no counter");
      return counted;
    } catch (error) {
      // Two first uploads raced to create the counter: the loser counts on the winner's.
      if (retries > 0 && isDuplicateKey(error)) return this.upsertCount(userId, update, retries - 1);
      throw error;
    }
  }

  private async counterOf(userId: Types.ObjectId): Promise<AssetCounter | null> {
    return (await this.counters.findOne({ _id: userId })) ?? (await this.backfill(userId));
  }

  /**
   * Once per user with Assets stored before list buckets (no counter yet): numbers them oldest first
   * into buckets, then writes the counter. Safe to run twice at once: it only fills missing buckets,
   * both runs number the same Assets alike, and the first counter written wins. Null when the user has no Assets.
   */
  private async backfill(userId: Types.ObjectId): Promise<AssetCounter | null> {
    const stored = await this.assets.collection
      .find<Pick<AssetDoc, "_id" | "createdAt" | "listBucket">>({ userId }, { projection: { createdAt: 1, listBucket: 1 } })
      .toArray();
    const oldestFirst = stored.sort(newestFirst).reverse();
    const newest = oldestFirst.at(-1);
    if (!newest) return null;
    const updates = oldestFirst.flatMap((asset, index) => (asset.listBucket == null ? [fillBucket(asset._id, listBucketOf(index + 1, this.bucketSize))] : []));
    // Small batches, one after another: FerretDB v1 holds a pooled connection per statement of one
    // update command, and a command of 50 statements exhausted its pool and hung it for good.
    for (let from = 0; from < updates.length; from += BACKFILL_BATCH) {
      await this.assets.collection.bulkWrite(updates.slice(from, from + BACKFILL_BATCH), { ordered: false });
    }
    const counter: AssetCounter = { _id: userId, n: oldestFirst.length, lastCreatedAt: newest.createdAt };
    try {
      await this.counters.insertOne(counter);
      return counter;
    } catch (error) {
      if (isDuplicateKey(error)) return this.counters.findOne({ _id: userId });
      throw error;
    }
  }
}

/** A run's results as the fields they set. */
function resultFields(result: ActiveResult, now: Date): Record<string, unknown> {
  return {
    "images.processed.url": result.processedUrl,
    "aiMetadata.brand": result.metadata.brand,
    "aiMetadata.model": result.metadata.model,
    "aiMetadata.colorway": result.metadata.colorway,
    "aiMetadata.processedAt": now,
    "aiMetadata.source": result.source,
    updatedAt: now,
  };
}

/** A re-analysis run may finish only while the Asset names it and its re-analysis is still queued (a duplicate run finds it settled). */
function reanalysisFilter(name: "reanalyzed" | "reanalysisFailed", assetId: string, jobId: string): Record<string, unknown> {
  return { ...transitionFilter(name, assetId, jobId), processingJobId: jobId, "reanalysis.jobId": jobId, "reanalysis.state": "queued" };
}

/** Sets an older Asset's bucket unless it has one (a racing backfill set it, alike). */
function fillBucket(_id: Types.ObjectId, listBucket: number) {
  return { updateOne: { filter: { _id, listBucket: { $exists: false } }, update: { $set: { listBucket } } } };
}

/** Items after `position` in newest-first order. */
function afterFilter(position: ListPosition): Record<string, unknown> {
  const { createdAt, id } = position;
  return { $or: [{ createdAt: { $lt: createdAt } }, { createdAt, _id: { $lt: new Types.ObjectId(id) } }] };
}
