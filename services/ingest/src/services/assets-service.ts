/** What ingest does for a user: take an upload, read and list their Assets, retry a failed one, archive one; never leave an Asset stranded. */
import { type AssetDoc, type AssetStore as AssetStoreAdapter, canTransition, InvalidCursorError, toAssetResponse } from "@pipeline/assets";
import type { Accepted, AssetPage, AssetPatch, AssetResponse, AssetStatus, Category } from "@pipeline/contracts/asset";
import type { JobData } from "@pipeline/contracts/jobs";
import { type FairLane, runIdFor } from "@pipeline/messaging";
import { HttpError } from "@pipeline/runtime/http";
import type { Logger } from "@pipeline/runtime/logger";
import type { ImageStorage } from "@pipeline/storage";
import { ObjectId } from "mongodb";
import type { AiJobProducer } from "../queue.ts";

export interface UploadInput {
  userId: string;
  category: Category;
  image: Uint8Array;
  contentType: string;
}

/** What queueing one run of an Asset needs. */
export interface RunInput {
  assetId: string;
  userId: string;
  category: Category;
  imageUrl: string;
  jobId: string;
}

/** The specification's job data of a new run (attempt 0; the worker counts retries). */
export function jobDataOf(run: RunInput): JobData {
  return { assetId: run.assetId, userId: run.userId, imageUrl: run.imageUrl, category: run.category, createdAt: new Date().toISOString(), attempt: 0 };
}

export interface ListInput {
  userId: string;
  limit: number;
  status?: AssetStatus;
  updatedSince?: Date;
  cursor?: string;
  /** 1-based page number, for clients that page by number rather than by cursor. */
  page?: number;
}

/** What the service needs of the repository and the producer (in-memory fakes stand in for them in unit tests). */
export type AssetStore = Pick<
  AssetStoreAdapter,
  "createProcessing" | "findOwned" | "findById" | "list" | "cursorAfter" | "reopenFailed" | "markFailed" | "setArchived"
>;
export type JobQueue = Pick<AiJobProducer, "enqueue" | "removeFinished" | "progressOf">;

export class AssetsService {
  constructor(
    private readonly repository: AssetStore,
    private readonly storage: ImageStorage,
    private readonly producer: JobQueue,
    private readonly logger: Logger,
  ) {}

  async submitUpload(input: UploadInput): Promise<Accepted> {
    const { url: originalUrl } = await this.storage.save(input.image, { kind: "original", contentType: input.contentType });
    const id = new ObjectId();
    const assetId = id.toHexString();
    const jobId = runIdFor(assetId);
    await this.repository.createProcessing({ id, userId: input.userId, category: input.category, originalUrl, jobId });
    await this.enqueueOrMarkFailed({ assetId, userId: input.userId, category: input.category, imageUrl: originalUrl, jobId });
    return { assetId, jobId, status: "processing" };
  }

  async get(assetId: string, userId: string): Promise<AssetResponse> {
    const asset = await this.repository.findOwned(assetId, userId);
    if (!asset) throw new HttpError(404, "not_found", "asset not found");
    const response = toAssetResponse(asset);
    if (asset.status !== "processing" || !asset.processingJobId) return response;
    const progress = await this.producer.progressOf(asset.processingJobId);
    return progress ? { ...response, progress } : response;
  }

  /** PATCH: the owner archives an active Asset or brings an archived one back; any other state is a 409. */
  async setStatus(assetId: string, userId: string, status: AssetPatch["status"]): Promise<AssetResponse> {
    const current = await this.repository.findOwned(assetId, userId);
    if (!current) throw new HttpError(404, "not_found", "asset not found");
    const changed = await this.repository.setArchived(assetId, userId, status === "archived");
    if (!changed) throw new HttpError(409, "conflict", `only an active or archived asset can be set ${status}; this one is ${current.status}`);
    return toAssetResponse(changed);
  }

  async list(input: ListInput): Promise<AssetPage> {
    if (input.cursor && input.page) throw new HttpError(400, "bad_request", "use either cursor or page, not both");
    const filter = {
      userId: input.userId,
      ...(input.status ? { status: input.status } : {}),
      ...(input.updatedSince ? { updatedSince: input.updatedSince } : {}),
    };
    // One extra item tells whether there is a next page.
    const { items, total } = await this.repository
      .list({ ...filter, limit: input.limit + 1, skip: input.page ? (input.page - 1) * input.limit : 0, ...(input.cursor ? { after: input.cursor } : {}) })
      .catch((error) => {
        // Not a cursor of this store: another dialect's (after a move), or not one at all.
        throw error instanceof InvalidCursorError ? new HttpError(400, "bad_request", error.message) : error;
      });
    const pageItems = items.slice(0, input.limit);
    const last = pageItems.at(-1);
    const nextCursor = items.length > input.limit && last ? this.repository.cursorAfter(last) : null;
    return { items: pageItems.map(toAssetResponse), nextCursor, total, limit: input.limit, page: input.page ?? null };
  }

  /** `lane`: a re-analysis of a failed Asset is its retry, queued below new uploads. */
  async retry(assetId: string, userId: string, lane: FairLane = "upload"): Promise<Accepted> {
    const current = await this.repository.findOwned(assetId, userId);
    if (!current) throw new HttpError(404, "not_found", "asset not found");
    if (!canTransition("retry", current.status)) throw new HttpError(409, "conflict", `only a failed asset can be retried; this one is ${current.status}`);
    const imageUrl = current.images?.original?.url;
    if (!imageUrl) throw new HttpError(409, "conflict", "asset has no original image to process");
    const jobId = runIdFor(assetId, current.processingJobId);
    const reopened = await this.repository.reopenFailed(assetId, userId, jobId);
    // Another request retried it between our read and our write.
    if (!reopened) throw new HttpError(409, "conflict", "asset is no longer failed");
    await this.enqueueOrMarkFailed({ assetId, userId, category: current.category as Category, imageUrl, jobId }, lane);
    if (current.processingJobId) await this.producer.removeFinished(current.processingJobId).catch(() => undefined);
    return { assetId, jobId, status: "processing" };
  }

  /** Retries a failed Asset of any user (operators): through its owner, so the state machine is the same. */
  async retryAny(assetId: string): Promise<Accepted | null> {
    const asset: AssetDoc | null = await this.repository.findById(assetId);
    if (asset?.status !== "failed") return null;
    return this.retry(assetId, asset.userId.toHexString());
  }

  private async enqueueOrMarkFailed(run: RunInput, lane: FairLane = "upload") {
    try {
      await this.producer.enqueue(jobDataOf(run), run.jobId, lane);
      this.logger.debug({ assetId: run.assetId, jobId: run.jobId }, "job queued");
    } catch (error) {
      this.logger.warn({ err: error, assetId: run.assetId, jobId: run.jobId }, "could not queue job; marking asset failed");
      await this.repository
        .markFailed(run.assetId, run.jobId, "could not be queued for processing (queue unavailable); retry later")
        .catch((markError) => this.logger.error({ err: markError, assetId: run.assetId }, "could not mark unqueued asset failed"));
      throw error;
    }
  }
}
