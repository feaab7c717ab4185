/**
 * Every read and write of Assets, for ingest and the ai-worker alike. Reads
 * for users are scoped to their owner; every status change is one
 * conditional update built from the state machine, returning the updated
 * document (no write-then-reread). "MongoDB is down" becomes a 503.
 */
import type { AssetStatus, Category, ExtractedMetadata } from "@pipeline/contracts/asset";
import { objectIdSchema } from "@pipeline/contracts/asset";
import { DependencyError } from "@pipeline/runtime/http";
import { isMongoUnavailable } from "@pipeline/runtime/mongo";
import { Types } from "mongoose";
import type { AssetDoc, AssetModel } from "./model.ts";
import { TRANSITIONS, type TransitionName } from "./state-machine.ts";

export interface AssetFilter {
  userId: string;
  status?: AssetStatus;
  updatedSince?: Date;
}

/** A position in a user's newest-first list: the last item's creation time and id. */
export interface ListPosition {
  createdAt: Date;
  id: string;
}

export interface ListQuery extends AssetFilter {
  limit: number;
  skip?: number;
  after?: ListPosition;
}

export interface NewAsset {
  id: Types.ObjectId;
  userId: string;
  category: Category;
  originalUrl: string;
  jobId: string;
}

const isObjectId = (id: string) => objectIdSchema.safeParse(id).success;

/** Turns "MongoDB is down" into a 503; anything else propagates. */
async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isMongoUnavailable(error)) throw new DependencyError("database", error);
    throw error;
  }
}

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
  constructor(private readonly assets: AssetModel) {}

  /** Creates the Asset already `processing` with its job id, so the job can never see it in an earlier state. */
  async createProcessing(input: NewAsset): Promise<void> {
    const now = new Date();
    // The driver's insert: the input is validated already, and mongoose's document machinery costs more than the write.
    await guarded(() =>
      this.assets.collection.insertOne({
        _id: input.id,
        userId: new Types.ObjectId(input.userId),
        category: input.category,
        status: "processing",
        images: { original: { url: input.originalUrl } },
        processingJobId: input.jobId,
        createdAt: now,
        updatedAt: now,
      }),
    );
  }

  findOwned(id: string, userId: string): Promise<AssetDoc | null> {
    if (!isObjectId(id)) return Promise.resolve(null);
    return guarded(() => this.assets.collection.findOne<AssetDoc>({ _id: new Types.ObjectId(id), userId: new Types.ObjectId(userId) }));
  }

  findById(id: string): Promise<AssetDoc | null> {
    if (!isObjectId(id)) return Promise.resolve(null);
    return guarded(() => this.assets.collection.findOne<AssetDoc>({ _id: new Types.ObjectId(id) }));
  }

  list(query: ListQuery): Promise<AssetDoc[]> {
    const filter = listFilter(query);
    if (query.after) {
      const { createdAt, id } = query.after;
      filter.$or = [{ createdAt: { $lt: createdAt } }, { createdAt, _id: { $lt: new Types.ObjectId(id) } }];
    }
    return guarded(() =>
      this.assets.collection
        .find<AssetDoc>(filter)
        .sort({ createdAt: -1, _id: -1 })
        .skip(query.skip ?? 0)
        .limit(query.limit)
        .toArray(),
    );
  }

  count(query: AssetFilter): Promise<number> {
    return guarded(() => this.assets.collection.countDocuments(listFilter(query)));
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

  /** complete: this run's results; null when the Asset was no longer this run's to finish. */
  markActive(assetId: string, jobId: string, result: { processedUrl: string; metadata: ExtractedMetadata }): Promise<AssetDoc | null> {
    const now = new Date();
    return this.apply(
      { ...transitionFilter("complete", assetId, jobId), processingJobId: jobId },
      {
        $set: {
          status: TRANSITIONS.complete.to,
          "images.processed.url": result.processedUrl,
          "aiMetadata.brand": result.metadata.brand,
          "aiMetadata.model": result.metadata.model,
          "aiMetadata.colorway": result.metadata.colorway,
          "aiMetadata.processedAt": now,
          updatedAt: now,
        },
        $unset: { "aiMetadata.error": "" },
      },
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
    return guarded(() => this.assets.collection.findOneAndUpdate(filter, update, { returnDocument: "after" })) as Promise<AssetDoc | null>;
  }
}
