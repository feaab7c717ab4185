/**
 * Running an Asset's analysis again (a better model, a new catalogue): for its owner, one Asset;
 * for operators, the Assets a filter matches, a bounded page at a time, resumable by cursor.
 * An active Asset stays active and serves its results until the new ones replace them; a failed
 * one is retried. Either way the run is queued in the fair share's re-analysis lane, below new uploads.
 */
import type { AssetDoc, AssetStore, ReanalysisFilter } from "@pipeline/assets";
import { canTransition } from "@pipeline/assets";
import type { BulkReanalysis, BulkReanalysisRequest } from "@pipeline/contracts/admin";
import type { Category, ReanalysisAccepted } from "@pipeline/contracts/asset";
import { runIdFor } from "@pipeline/messaging";
import { HttpError } from "@pipeline/runtime/http";
import type { Logger } from "@pipeline/runtime/logger";
import type { AiJobProducer } from "../queue.ts";
import { type AssetsService, jobDataOf } from "./assets-service.ts";

export interface ReanalysisDeps {
  repository: Pick<AssetStore, "findOwned" | "findForReanalysis" | "requestReanalysis" | "markReanalysisFailed">;
  producer: Pick<AiJobProducer, "enqueue">;
  /** A failed Asset's re-analysis is its retry. */
  assets: Pick<AssetsService, "retry">;
  logger: Logger;
}

export class ReanalysisService {
  constructor(private readonly deps: ReanalysisDeps) {}

  /** The owner's Asset: 404 for anyone else's, 409 unless it is active or failed. */
  async reanalyze(assetId: string, userId: string): Promise<ReanalysisAccepted> {
    const asset = await this.deps.repository.findOwned(assetId, userId);
    if (!asset) throw new HttpError(404, "not_found", "asset not found");
    return this.reanalyzeAsset(asset);
  }

  /** Up to `limit` matching Assets after `cursor`, in id order; the answer's cursor goes on from there. */
  async reanalyzeMatching(request: BulkReanalysisRequest): Promise<BulkReanalysis> {
    const { filter, limit, cursor } = request;
    const matching: ReanalysisFilter = {
      statuses: filter.status ? [filter.status] : ["active", "failed"],
      category: filter.category,
      analyzer: filter.analyzer,
      model: filter.model,
      ...(filter.processedBefore ? { processedBefore: new Date(filter.processedBefore) } : {}),
    };
    // One more than asked tells whether there is a next page.
    const page = await this.deps.repository.findForReanalysis(matching, limit + 1, cursor);
    const taken = page.slice(0, limit);
    const jobs: ReanalysisAccepted[] = [];
    for (const asset of taken) {
      const accepted = await this.reanalyzeAsset(asset).catch((error: unknown) => {
        // Changed between the query and the write (deleted, retried, another re-analysis): skipped.
        if (error instanceof HttpError && (error.status === 404 || error.status === 409)) return null;
        throw error;
      });
      if (accepted) jobs.push(accepted);
    }
    const last = taken.at(-1);
    return { queued: jobs.length, skipped: taken.length - jobs.length, jobs, nextCursor: page.length > limit && last ? last._id.toHexString() : null };
  }

  private async reanalyzeAsset(asset: AssetDoc): Promise<ReanalysisAccepted> {
    const assetId = asset._id.toHexString();
    const userId = asset.userId.toHexString();
    if (asset.status === "failed") return this.deps.assets.retry(assetId, userId, "reanalysis");
    if (!canTransition("reanalyze", asset.status))
      throw new HttpError(409, "conflict", `only an active or failed asset can be re-analysed; this one is ${asset.status}`);
    const imageUrl = asset.images?.original?.url;
    if (!imageUrl) throw new HttpError(409, "conflict", "asset has no original image to process");
    const run = { assetId, userId, category: asset.category as Category, imageUrl };
    const pending = asset.reanalysis?.state === "queued" && asset.reanalysis.jobId === asset.processingJobId ? asset.reanalysis.jobId : null;
    if (pending) {
      // Asked again while queued: the same run (queued again under its id, a no-op unless the job was lost).
      await this.enqueue({ ...run, jobId: pending });
      return { assetId, jobId: pending, status: "active" };
    }
    const jobId = runIdFor(assetId, asset.processingJobId);
    const requested = await this.deps.repository.requestReanalysis(assetId, asset.processingJobId ?? undefined, jobId);
    if (!requested) throw new HttpError(409, "conflict", "asset changed meanwhile; read it and ask again");
    await this.enqueue({ ...run, jobId });
    return { assetId, jobId, status: "active" };
  }

  /** Not queued (Redis down): the re-analysis is recorded failed, the Asset keeps its results, and the caller gets the 503. */
  private async enqueue(run: { assetId: string; userId: string; category: Category; imageUrl: string; jobId: string }): Promise<void> {
    try {
      await this.deps.producer.enqueue(jobDataOf(run), run.jobId, "reanalysis");
    } catch (error) {
      this.deps.logger.warn({ err: error, assetId: run.assetId, jobId: run.jobId }, "could not queue re-analysis");
      await this.deps.repository
        .markReanalysisFailed(run.assetId, run.jobId, "could not be queued for re-analysis (queue unavailable); ask again later")
        .catch(() => undefined);
      throw error;
    }
  }
}
