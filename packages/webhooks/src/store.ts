/** The webhook store of the connection's dialect, and `bun run migrate`'s step for webhooks (the dialect's indexes). */
import type { MongoConnection, MongoDialect } from "@pipeline/runtime/mongo";
import { reconcileIndexes } from "@pipeline/runtime/mongo";
import type { Db } from "mongodb";
import { FerretDbWebhookStore } from "./ferretdb-v1-store.ts";
import { deliveryTtlIndex, MongoWebhookStore } from "./mongodb-store.ts";
import { DELIVERIES_COLLECTION, type StoreSettings, type WebhookRepository } from "./repository.ts";

export type WebhookStore = WebhookRepository;

export function openWebhookStore(connection: Pick<MongoConnection, "db" | "dialect">, settings: StoreSettings): WebhookStore {
  return connection.dialect === "ferretdb-v1" ? new FerretDbWebhookStore(connection.db, settings) : new MongoWebhookStore(connection.db, settings);
}

/** The deliveries' TTL index on MongoDB (retention as configured), none on FerretDB v1 (which prunes by a sweep). */
export async function migrateWebhooks(db: Db, to: MongoDialect, settings: StoreSettings, progress: (line: string) => void): Promise<void> {
  const ttl = [deliveryTtlIndex(settings.retentionDays)];
  try {
    await reconcileIndexes(db.collection(DELIVERIES_COLLECTION), to === "mongodb" ? ttl : [], to === "mongodb" ? [] : ttl, progress);
  } catch (error) {
    // A server without TTL indexes keeps deliveries until the notifier's own sweep (its dialect's adapter) deletes them.
    progress(`${DELIVERIES_COLLECTION}: the server refused the TTL index (${error instanceof Error ? error.message : String(error)})`);
  }
}
