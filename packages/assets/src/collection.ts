/**
 * What both Asset store adapters do alike: reads by id scoped to the owner,
 * and every status change as one conditional update built from the state
 * machine, returning the updated document (no write-then-reread). "MongoDB is
 * down" becomes a 503. The adapters add how Assets are created, listed and
 * deleted, and their indexes.
 */

import { objectIdSchema } from "@pipeline/contracts/asset";
import { guardMongo } from "@pipeline/runtime/mongo";
import { type Collection, type Db, type Document, type Filter, ObjectId } from "mongodb";
import { ASSETS_COLLECTION, type AssetDoc } from "./model.ts";
import { TRANSITIONS, type TransitionName } from "./state-machine.ts";
import type { ActiveResult, AssetFilter, AssetList, ListQuery, NewAsset, ReanalysisFilter } from "./store.ts";

const isObjectId = (id: string) => objectIdSchema.safeParse(id).success;

/** The filter of a user's list (owner, and the status or update time asked for). */
export function listFilter(query: AssetFilter): Filter<AssetDoc> {
  const filter: Filter<AssetDoc> = { userId: new ObjectId(query.userId) };
  if (query.status) filter.status = query.status;
  if (query.updatedSince) filter.updatedAt = { $gte: query.updatedSince };
  return filter;
}

/** Items after (createdAt, id) in newest-first order. */
export function afterFilter(position: { createdAt: Date; id: string }): Filter<AssetDoc> {
  const { createdAt, id } = position;
  return { $or: [{ createdAt: { $lt: createdAt } }, { createdAt, _id: { $lt: new ObjectId(id) } }] };
}

/** The filter that lets `transition` happen, for the run `jobId` where the transition requires one. */
function transitionFilter(name: TransitionName, assetId: string, jobId?: string): Filter<AssetDoc> {
  const transition = TRANSITIONS[name];
  const filter: Filter<AssetDoc> = { _id: new ObjectId(assetId), status: { $in: [...transition.from] } };
  if (transition.requiresJob) filter.$or = [{ processingJobId: jobId }, { processingJobId: { $exists: false } }];
  return filter;
}

/** A run's results as the fields they set. */
function resultFields(result: ActiveResult, now: Date): Document {
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
function reanalysisFilter(name: "reanalyzed" | "reanalysisFailed", assetId: string, jobId: string): Filter<AssetDoc> {
  return { ...transitionFilter(name, assetId, jobId), processingJobId: jobId, "reanalysis.jobId": jobId, "reanalysis.state": "queued" };
}

/** The new Asset's document; `extra` holds the adapter's own fields. */
export function newAssetDoc(input: NewAsset, createdAt: Date, extra: Document = {}): AssetDoc {
  return {
    _id: input.id,
    userId: new ObjectId(input.userId),
    category: input.category,
    status: "processing",
    images: { original: { url: input.originalUrl } },
    processingJobId: input.jobId,
    ...extra,
    createdAt,
    updatedAt: createdAt,
  };
}

export abstract class AssetCollection {
  protected readonly assets: Collection<AssetDoc>;

  constructor(protected readonly db: Db) {
    this.assets = db.collection<AssetDoc>(ASSETS_COLLECTION);
  }

  findOwned(id: string, userId: string): Promise<AssetDoc | null> {
    if (!isObjectId(id)) return Promise.resolve(null);
    return guardMongo(() => this.assets.findOne({ _id: new ObjectId(id), userId: new ObjectId(userId) }));
  }

  findProcessingSince(before: Date, limit: number): Promise<AssetDoc[]> {
    return guardMongo(() => this.assets.find({ status: "processing", updatedAt: { $lt: before } }, { limit }).toArray());
  }

  findById(id: string): Promise<AssetDoc | null> {
    if (!isObjectId(id)) return Promise.resolve(null);
    return guardMongo(() => this.assets.findOne({ _id: new ObjectId(id) }));
  }

  reopenFailed(id: string, userId: string, jobId: string): Promise<AssetDoc | null> {
    if (!isObjectId(id)) return Promise.resolve(null);
    const filter = { ...transitionFilter("retry", id), userId: new ObjectId(userId) };
    return this.apply(filter, {
      $set: { status: TRANSITIONS.retry.to, processingJobId: jobId, updatedAt: new Date() },
      $unset: { "aiMetadata.error": "" },
    });
  }

  setArchived(id: string, userId: string, archived: boolean): Promise<AssetDoc | null> {
    if (!isObjectId(id)) return Promise.resolve(null);
    const name = archived ? "archive" : "unarchive";
    const filter = { ...transitionFilter(name, id), userId: new ObjectId(userId) };
    return this.apply(filter, { $set: { status: TRANSITIONS[name].to, updatedAt: new Date() } });
  }

  /** Deletes the owner's Asset; the deleted document, or null when it was not theirs (or is gone). */
  protected removeOwned(id: string, userId: string): Promise<AssetDoc | null> {
    if (!isObjectId(id)) return Promise.resolve(null);
    return guardMongo(() => this.assets.findOneAndDelete({ _id: new ObjectId(id), userId: new ObjectId(userId) }));
  }

  markActive(assetId: string, jobId: string, result: ActiveResult): Promise<AssetDoc | null> {
    if (!isObjectId(assetId)) return Promise.resolve(null);
    const now = new Date();
    return this.apply(
      { ...transitionFilter("complete", assetId, jobId), processingJobId: jobId },
      { $set: { status: TRANSITIONS.complete.to, ...resultFields(result, now) }, $unset: { "aiMetadata.error": "" } },
    );
  }

  findForReanalysis(filter: ReanalysisFilter, limit: number, afterId?: string): Promise<AssetDoc[]> {
    const query: Filter<AssetDoc> = { status: { $in: filter.statuses } };
    if (filter.category) query.category = filter.category;
    if (filter.processedBefore) query["aiMetadata.processedAt"] = { $lt: filter.processedBefore };
    if (filter.analyzer) query["aiMetadata.source.analyzer"] = filter.analyzer;
    if (filter.model) query["aiMetadata.source.model"] = filter.model;
    if (afterId !== undefined) query._id = { $gt: new ObjectId(afterId) }; // checked by the request schema (24 hex)
    const projection = { userId: 1, status: 1, category: 1, "images.original.url": 1, processingJobId: 1, reanalysis: 1 };
    return guardMongo(() => this.assets.find(query, { projection, sort: { _id: 1 }, limit }).toArray());
  }

  requestReanalysis(id: string, currentJobId: string | undefined, jobId: string, userId?: string): Promise<AssetDoc | null> {
    if (!isObjectId(id)) return Promise.resolve(null);
    const filter: Filter<AssetDoc> = {
      ...transitionFilter("reanalyze", id),
      processingJobId: currentJobId ?? { $exists: false },
      ...(userId ? { userId: new ObjectId(userId) } : {}),
    };
    const now = new Date();
    return this.apply(filter, { $set: { processingJobId: jobId, reanalysis: { jobId, state: "queued", requestedAt: now }, updatedAt: now } });
  }

  markReanalyzed(assetId: string, jobId: string, result: ActiveResult): Promise<AssetDoc | null> {
    if (!isObjectId(assetId)) return Promise.resolve(null);
    const now = new Date();
    return this.apply(reanalysisFilter("reanalyzed", assetId, jobId), {
      $set: { ...resultFields(result, now), "reanalysis.state": "completed", "reanalysis.finishedAt": now },
      $unset: { "reanalysis.error": "" },
    });
  }

  markReanalysisFailed(assetId: string, jobId: string, reason: string): Promise<AssetDoc | null> {
    if (!isObjectId(assetId)) return Promise.resolve(null);
    const now = new Date();
    return this.apply(reanalysisFilter("reanalysisFailed", assetId, jobId), {
      $set: { "reanalysis.state": "failed", "reanalysis.error": reason, "reanalysis.finishedAt": now, updatedAt: now },
    });
  }

  markFailed(assetId: string, jobId: string, reason: string): Promise<AssetDoc | null> {
    if (!isObjectId(assetId)) return Promise.resolve(null);
    const now = new Date();
    return this.apply(transitionFilter("fail", assetId, jobId), {
      $set: { status: TRANSITIONS.fail.to, "aiMetadata.error": reason, "aiMetadata.processedAt": now, updatedAt: now },
    });
  }

  /** A page by one query, filtered, sorted and limited by the database, and a count of what the filter matches. */
  protected async listByQuery(query: ListQuery, after: Filter<AssetDoc> | null): Promise<AssetList> {
    const filter = listFilter(query);
    const [items, total] = await guardMongo(() => Promise.all([this.pageQuery(query, after).toArray(), this.assets.countDocuments(filter)]));
    return { items, total };
  }

  /** The sorted, limited query of one page. */
  protected pageQuery(query: ListQuery, after: Filter<AssetDoc> | null) {
    const filter = listFilter(query);
    const page = this.assets.find(after ? { ...filter, ...after } : filter).sort({ createdAt: -1, _id: -1 });
    // A skip of 0 is no skip: left out of the command.
    return (query.skip ? page.skip(query.skip) : page).limit(query.limit);
  }

  private apply(filter: Filter<AssetDoc>, update: Document): Promise<AssetDoc | null> {
    return guardMongo(() => this.assets.findOneAndUpdate(filter, update, { returnDocument: "after" }));
  }
}
