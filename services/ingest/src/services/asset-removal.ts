/**
 * Deleting an Asset, so that nothing about it follows: it is marked deleted
 * in the sockets' stream first (from then on no `asset_progress` or
 * `asset_processed` about it is written), then removed from the database,
 * its waiting run cancelled (a run in progress finds it gone and discards
 * its result), its images removed from storage, and `asset_deleted` queued
 * for its owner's sockets and webhooks. A DELETE repeated by its owner (the
 * first answer was lost) is a 204 again and queues the same event again,
 * idempotently; with Redis unreachable each Redis step is a 503, and the
 * owner repeats the DELETE.
 */
import type { AssetDoc, AssetStore } from "@pipeline/assets";
import { objectIdSchema } from "@pipeline/contracts/asset";
import type { ClientEvents, DeletionMarkers } from "@pipeline/messaging";
import { HttpError, orUnavailable } from "@pipeline/runtime/http";
import type { Logger } from "@pipeline/runtime/logger";
import type { ImageStorage } from "@pipeline/storage";
import type { AiJobProducer } from "../queue.ts";

export interface AssetRemovalDeps {
  repository: Pick<AssetStore, "findOwned" | "deleteOwned">;
  storage: Pick<ImageStorage, "remove">;
  producer: Pick<AiJobProducer, "cancel">;
  markers: Pick<DeletionMarkers, "mark" | "unmark" | "deletedBy">;
  events: Pick<ClientEvents, "emit">;
  logger: Logger;
}

export class AssetRemoval {
  constructor(private readonly deps: AssetRemovalDeps) {}

  async delete(assetId: string, userId: string): Promise<void> {
    const asset = await this.deps.repository.findOwned(assetId, userId);
    if (!asset) {
      if (!(await this.wasDeletedBy(assetId, userId))) throw new HttpError(404, "not_found", "asset not found");
      return this.announce(assetId, userId);
    }
    await orUnavailable("redis", () => this.deps.markers.mark(assetId, userId));
    let deleted: AssetDoc | null;
    try {
      deleted = await this.deps.repository.deleteOwned(assetId, userId);
    } catch (error) {
      // Still there: its events may flow again.
      await this.deps.markers.unmark(assetId).catch(() => undefined);
      throw error;
    }
    const log = this.deps.logger.child({ assetId, userId });
    if (deleted?.processingJobId && deleted.status === "processing") {
      const cancelled = await this.deps.producer.cancel(deleted.processingJobId).catch(() => false);
      log.info({ jobId: deleted.processingJobId, cancelled }, cancelled ? "waiting run cancelled" : "run in progress; its result will be discarded");
    }
    await this.removeImages(deleted ?? asset, log);
    await this.announce(assetId, userId);
    log.info("asset deleted");
  }

  private async wasDeletedBy(assetId: string, userId: string): Promise<boolean> {
    if (!objectIdSchema.safeParse(assetId).success) return false;
    return (await orUnavailable("redis", () => this.deps.markers.deletedBy(assetId))) === userId;
  }

  /** Best effort: a file that cannot be removed now is logged (an orphan in storage), never a reason to keep the Asset. */
  private async removeImages(asset: AssetDoc, log: Logger): Promise<void> {
    const urls = [asset.images?.original?.url, asset.images?.processed?.url].filter((url): url is string => Boolean(url));
    await Promise.all(urls.map((url) => this.deps.storage.remove(url).catch((error) => log.warn({ err: error, url }, "image not removed from storage"))));
  }

  private announce(assetId: string, userId: string): Promise<void> {
    const payload = { assetId, timestamp: new Date().toISOString() };
    // One event per Asset (its id is the Asset's), however often its owner repeats the DELETE.
    return orUnavailable("redis", async () => void (await this.deps.events.emit({ userId, event: "asset_deleted", payload })));
  }
}
