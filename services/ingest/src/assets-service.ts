/** What ingest does with an upload or a retry: store, record, enqueue, and never leave an Asset stranded. */
import { HttpError, aiJobIdFor, type AssetDoc, type Category, type Logger } from "@pipeline/contracts";
import type { ImageStorage } from "@pipeline/storage";
import { Types } from "mongoose";
import type { AiJobProducer } from "./queue.ts";
import type { AssetRepository } from "./repository.ts";

export interface UploadInput {
  userId: string;
  category: Category;
  image: Uint8Array;
  contentType: string;
}

export class AssetsService {
  constructor(
    private readonly repository: AssetRepository,
    private readonly storage: ImageStorage,
    private readonly producer: AiJobProducer,
    private readonly logger: Logger,
  ) {}

  async submitUpload(input: UploadInput): Promise<{ assetId: string; jobId: string; status: "processing" }> {
    const { url: originalUrl } = await this.storage.save(input.image, { kind: "original", contentType: input.contentType });
    const id = new Types.ObjectId();
    const assetId = id.toHexString();
    const jobId = aiJobIdFor(assetId);
    await this.repository.createProcessing({ id, userId: input.userId, category: input.category, originalUrl, jobId });
    await this.enqueueOrMarkFailed({ assetId, userId: input.userId, category: input.category, imageUrl: originalUrl, jobId });
    return { assetId, jobId, status: "processing" };
  }

  async retry(assetId: string, userId: string): Promise<{ assetId: string; jobId: string; status: "processing" }> {
    const current = await this.repository.findOwned(assetId, userId);
    if (!current) throw new HttpError(404, "not_found", "asset not found");
    if (current.status !== "failed") throw new HttpError(409, "conflict", `only a failed asset can be retried; this one is ${current.status}`);
    const jobId = aiJobIdFor(assetId, current.processingJobId);
    const reopened = await this.repository.reopenFailed(assetId, userId, jobId);
    // Another request retried it between our read and our write.
    if (!reopened) throw new HttpError(409, "conflict", "asset is no longer failed");
    const imageUrl = current.images?.original?.url;
    if (!imageUrl) throw new HttpError(409, "conflict", "asset has no original image to process");
    await this.enqueueOrMarkFailed({ assetId, userId, category: current.category as Category, imageUrl, jobId });
    if (current.processingJobId) await this.producer.removeFinished(current.processingJobId).catch(() => undefined);
    return { assetId, jobId, status: "processing" };
  }

  /** Any user's Asset, for operators. */
  findAny(assetId: string): Promise<AssetDoc | null> {
    return this.repository.findById(assetId);
  }

  findOwned(assetId: string, userId: string): Promise<AssetDoc | null> {
    return this.repository.findOwned(assetId, userId);
  }

  private async enqueueOrMarkFailed(run: { assetId: string; userId: string; category: Category; imageUrl: string; jobId: string }) {
    try {
      await this.producer.enqueue(
        { assetId: run.assetId, userId: run.userId, imageUrl: run.imageUrl, category: run.category, createdAt: new Date().toISOString(), attempt: 0 },
        run.jobId,
      );
      this.logger.info({ assetId: run.assetId, jobId: run.jobId }, "job queued");
    } catch (error) {
      this.logger.warn({ err: error, assetId: run.assetId, jobId: run.jobId }, "could not queue job; marking asset failed");
      await this.repository
        .markNotQueued(run.assetId, run.jobId, "could not be queued for processing (queue unavailable); retry later")
        .catch((markError) => this.logger.error({ err: markError, assetId: run.assetId }, "could not mark unqueued asset failed"));
      throw error;
    }
  }
}
