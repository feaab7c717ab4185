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
    // Only a server that is not MongoDB refuses it (FerretDB v1 with MONGO_DIALECT=mongodb forced): the rest of the
    // migration goes on, and the operator is told that deliveries will not expire there (only the ferretdb-v1 adapter sweeps).
    progress(
      `${DELIVERIES_COLLECTION}: the server refused the TTL index, so deliveries will not expire under the mongodb dialect (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}
