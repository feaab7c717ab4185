/**
 * Webhooks on FerretDB v1, which has no TTL indexes ("not implemented"): a
 * periodic sweep deletes deliveries past their retention. The sweep's
 * `createdAt` range is not run in SQL by FerretDB v1, so it reads the whole
 * collection: hourly keeps that cost small.
 */
import type { Logger } from "@pipeline/runtime/logger";
import { type IndexSync, syncAllIndexes } from "@pipeline/runtime/mongo";
import { DELIVERY_INDEXES, WEBHOOK_INDEXES, WebhookRepository } from "./repository.ts";

export const DELIVERY_SWEEP_MS = 3_600_000;

export class FerretDbWebhookStore extends WebhookRepository {
  readonly dialect = "ferretdb-v1" as const;

  syncIndexes(): Promise<IndexSync> {
    return syncAllIndexes([
      [this.webhooks, WEBHOOK_INDEXES],
      [this.deliveries, DELIVERY_INDEXES],
    ]);
  }

  /** Deletes the deliveries older than the retention; how many. */
  async pruneDeliveries(now = Date.now()): Promise<number> {
    return (await this.deliveries.deleteMany({ createdAt: { $lt: new Date(now - this.retentionMs) } })).deletedCount;
  }

  expireDeliveries(logger: Logger, intervalMs = DELIVERY_SWEEP_MS): () => void {
    const sweep = () =>
      this.pruneDeliveries()
        .then((deleted) => deleted > 0 && logger.info({ deleted, retentionDays: this.settings.retentionDays }, "expired webhook deliveries deleted"))
        .catch((error) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, "webhook delivery sweep failed; next one later"));
    void sweep();
    const timer = setInterval(sweep, intervalMs);
    timer.unref?.();
    return () => clearInterval(timer);
  }
}
