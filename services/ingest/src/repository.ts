/** Asset reads and writes for ingest; every read is scoped to its owner. */
import { type AssetDoc, type AssetModel, type AssetStatus, type Category, DependencyError, isMongoUnavailable, objectIdSchema } from "@pipeline/contracts";
import { Types } from "mongoose";

/** Turns "MongoDB is down" into a 503; anything else propagates. */
async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isMongoUnavailable(error)) throw new DependencyError("database", error);
    throw error;
  }
}

export interface AssetFilter {
  userId: string;
  status?: AssetStatus;
  updatedSince?: Date;
}

export interface ListQuery extends AssetFilter {
  limit: number;
  skip?: number;
  /** Opaque position from a previous page: the last item's createdAt and id. */
  after?: { createdAt: Date; id: string };
}

const isObjectId = (id: string) => objectIdSchema.safeParse(id).success;

function mongoFilter(query: AssetFilter): Record<string, unknown> {
  const filter: Record<string, unknown> = { userId: new Types.ObjectId(query.userId) };
  if (query.status) filter.status = query.status;
  if (query.updatedSince) filter.updatedAt = { $gte: query.updatedSince };
  return filter;
}

export class AssetRepository {
  constructor(private readonly assets: AssetModel) {}

  /** Creates the Asset already `processing` with its job id, so the job can never see it in an earlier state. */
  createProcessing(input: { id: Types.ObjectId; userId: string; category: Category; originalUrl: string; jobId: string }) {
    return guarded(() =>
      this.assets.create({
        _id: input.id,
        userId: new Types.ObjectId(input.userId),
        category: input.category,
        status: "processing",
        images: { original: { url: input.originalUrl } },
        processingJobId: input.jobId,
      }),
    );
  }

  findOwned(id: string, userId: string): Promise<AssetDoc | null> {
    if (!isObjectId(id)) return Promise.resolve(null);
    return guarded(() => this.assets.findOne({ _id: id, userId }).lean<AssetDoc>().exec());
  }

  findById(id: string): Promise<AssetDoc | null> {
    if (!isObjectId(id)) return Promise.resolve(null);
    return guarded(() => this.assets.findById(id).lean<AssetDoc>().exec());
  }

  list(query: ListQuery): Promise<AssetDoc[]> {
    const filter = mongoFilter(query);
    if (query.after) {
      const { createdAt, id } = query.after;
      filter.$or = [{ createdAt: { $lt: createdAt } }, { createdAt, _id: { $lt: new Types.ObjectId(id) } }];
    }
    return guarded(() =>
      this.assets.find(filter).sort({ createdAt: -1, _id: -1 }).skip(query.skip ?? 0).limit(query.limit).lean<AssetDoc[]>().exec(),
    );
  }

  count(query: AssetFilter): Promise<number> {
    return guarded(() => this.assets.countDocuments(mongoFilter(query)).exec());
  }

  /** Moves a `failed` Asset of the owner back to `processing` under a new job id; null when it is not failed. */
  reopenFailed(id: string, userId: string, jobId: string): Promise<AssetDoc | null> {
    return guarded(() =>
      this.assets
        .findOneAndUpdate(
          { _id: id, userId, status: "failed" },
          { $set: { status: "processing", processingJobId: jobId }, $unset: { "aiMetadata.error": "" } },
          { new: true },
        )
        .lean<AssetDoc>()
        .exec(),
    );
  }

  /** Records that the job could not be queued, so the Asset does not stay `processing` with no job behind it. */
  markNotQueued(id: Types.ObjectId | string, jobId: string, reason: string) {
    return guarded(() =>
      this.assets.updateOne({ _id: id, status: "processing", processingJobId: jobId }, { $set: { status: "failed", "aiMetadata.error": reason } }).exec(),
    );
  }
}
