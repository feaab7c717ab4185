/**
 * A subscription's state: which outcomes it has handed over (live or by a
 * catch-up), so none is handed over twice, and the time its next catch-up
 * reads from.
 */
import type { AssetProcessedEvent, AssetResponse } from "@pipeline/contracts";

const FINISHED: ReadonlySet<string> = new Set(["active", "failed"]);

/** One key per outcome: the event's `timestamp` is the Asset's `aiMetadata.processedAt` (else `updatedAt`). */
const outcomeKey = (assetId: string, status: string, at: string) => `${assetId}:${status}:${at}`;

export class DeliveredOutcomes {
  private readonly keys = new Set<string>();

  /** `since`: ISO time the first catch-up reads from. */
  constructor(public since: string) {}

  /** True the first time an outcome is seen live (hand it over), false for one already handed over. */
  takeLive(outcome: AssetProcessedEvent): boolean {
    const key = outcomeKey(outcome.assetId, outcome.status, outcome.timestamp);
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    return true;
  }

  /**
   * Of the Assets one complete catch-up read, the finished ones not handed over yet; they count as handed
   * over from now, and the next catch-up reads from the newest change seen.
   */
  takeCaughtUp(assets: AssetResponse[]): AssetResponse[] {
    const found = new Map<string, AssetResponse>();
    let newest = this.since;
    for (const asset of assets) {
      if (asset.updatedAt > newest) newest = asset.updatedAt;
      if (!FINISHED.has(asset.status)) continue;
      const key = outcomeKey(asset.id, asset.status, asset.aiMetadata?.processedAt ?? asset.updatedAt);
      if (!this.keys.has(key)) found.set(key, asset);
    }
    this.since = newest;
    for (const key of found.keys()) this.keys.add(key);
    return [...found.values()];
  }
}
