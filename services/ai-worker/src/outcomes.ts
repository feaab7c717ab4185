/**
 * Each run's outcome, as the `asset_processed` event its owner receives. The
 * event is built from the stored Asset and carries its run (the AI job id), whose id it takes, so
 * publishing it again (after a crash, a duplicate run) is a no-op, and the
 * event always matches what GET /api/assets/:id shows.
 */
import type { AssetDoc } from "@pipeline/assets";
import { NO_DETECTION } from "@pipeline/contracts/asset";
import { ASSET_PROCESSED_EVENT, type AssetProcessedEvent } from "@pipeline/contracts/events";
import type { ClientEvents } from "@pipeline/messaging";

export function outcomeFromAsset(asset: AssetDoc): AssetProcessedEvent | null {
  const assetId = asset._id.toHexString();
  const meta = asset.aiMetadata;
  const timestamp = (meta?.processedAt ?? asset.updatedAt ?? new Date()).toISOString();
  if (asset.status === "active") {
    return {
      event: ASSET_PROCESSED_EVENT,
      assetId,
      status: "active",
      aiMetadata: { brand: detection(meta?.brand), model: detection(meta?.model), colorway: detection(meta?.colorway) },
      processedImageUrl: asset.images?.processed?.url ?? "",
      timestamp,
    };
  }
  if (asset.status === "failed") {
    return { event: ASSET_PROCESSED_EVENT, assetId, status: "failed", error: meta?.error || "processing failed", timestamp };
  }
  return null;
}

function detection(stored: { value?: string | null; confidence?: number } | null | undefined) {
  return stored ? { value: stored.value ?? null, confidence: stored.confidence ?? 0 } : NO_DETECTION;
}

/** Publishes the final state of `asset` for run `runId` (its AI job id); false when the asset is not final. */
export async function publishOutcome(events: Pick<ClientEvents, "emit">, asset: AssetDoc, runId: string): Promise<boolean> {
  const payload = outcomeFromAsset(asset);
  if (!payload) return false;
  // Checked against the client-event map on the way out.
  await events.emit({ userId: asset.userId.toHexString(), event: ASSET_PROCESSED_EVENT, payload, runId });
  return true;
}
