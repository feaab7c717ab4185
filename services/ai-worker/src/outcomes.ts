/**
 * Publishes each run's outcome to the notifiers through BullMQ. The outcome
 * is rebuilt from the stored Asset and keyed by the AI job id, so publishing
 * it again (after a crash, a duplicate run) is a no-op, and the event always
 * matches what GET /api/assets/:id shows.
 */
import {
  ASSET_PROCESSED_EVENT, OUTCOME_JOB_OPTIONS, OUTCOME_QUEUE, type AssetDoc, type AssetProcessedEvent, type OutcomeJob, NO_DETECTION,
  assetProcessedSchema, outcomeJobIdFor,
} from "@pipeline/contracts";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";

export function outcomeFromAsset(asset: AssetDoc): AssetProcessedEvent | null {
  const assetId = asset._id.toHexString();
  const meta = asset.aiMetadata;
  if (asset.status === "active") {
    return assetProcessedSchema.parse({
      event: ASSET_PROCESSED_EVENT,
      assetId,
      status: "active",
      aiMetadata: {
        brand: detection(meta?.brand),
        model: detection(meta?.model),
        colorway: detection(meta?.colorway),
      },
      processedImageUrl: asset.images?.processed?.url,
      timestamp: (meta?.processedAt ?? asset.updatedAt ?? new Date()).toISOString(),
    });
  }
  if (asset.status === "failed") {
    return assetProcessedSchema.parse({
      event: ASSET_PROCESSED_EVENT,
      assetId,
      status: "failed",
      error: meta?.error || "processing failed",
      timestamp: (meta?.processedAt ?? asset.updatedAt ?? new Date()).toISOString(),
    });
  }
  return null;
}

function detection(stored: { value?: string | null; confidence?: number } | null | undefined) {
  return stored ? { value: stored.value ?? null, confidence: stored.confidence ?? 0 } : NO_DETECTION;
}

export class OutcomePublisher {
  private readonly queue: Queue<OutcomeJob>;

  constructor(connection: Redis, prefix: string) {
    this.queue = new Queue<OutcomeJob>(OUTCOME_QUEUE, { connection, prefix });
  }

  /** Publishes the final state of `asset` for AI job `aiJobId`; returns false when the asset is not final. */
  async publish(asset: AssetDoc, aiJobId: string): Promise<boolean> {
    const payload = outcomeFromAsset(asset);
    if (!payload) return false;
    const data: OutcomeJob = { userId: asset.userId.toHexString(), payload };
    await this.queue.add(ASSET_PROCESSED_EVENT, data, { ...OUTCOME_JOB_OPTIONS, jobId: outcomeJobIdFor(aiJobId) });
    return true;
  }

  close() {
    return this.queue.close();
  }
}
