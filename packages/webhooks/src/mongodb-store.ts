/** Webhooks on MongoDB: deliveries expire through a TTL index on createdAt (MongoDB's monitor deletes them, about once a minute). */
import { type IndexSpec, type IndexSync, syncAllIndexes } from "@pipeline/runtime/mongo";
import { DELIVERY_INDEXES, WEBHOOK_INDEXES, WebhookRepository } from "./repository.ts";

/** The TTL index of deliveries; its expireAfterSeconds is the retention. */
export function deliveryTtlIndex(retentionDays: number): IndexSpec {
  return { key: { createdAt: 1 }, name: "createdAt_1", expireAfterSeconds: retentionDays * 86_400 };
}

export class MongoWebhookStore extends WebhookRepository {
  readonly dialect = "mongodb" as const;

  syncIndexes(): Promise<IndexSync> {
    // The TTL index on its own: a server that refuses it still gets the others.
    return syncAllIndexes([
      [this.webhooks, WEBHOOK_INDEXES],
      [this.deliveries, DELIVERY_INDEXES],
      [this.deliveries, [deliveryTtlIndex(this.settings.retentionDays)]],
    ]);
  }

  expireDeliveries(): () => void {
    return () => undefined;
  }
}
