/**
 * `bun run migrate`: brings the database to the layout of a dialect's store
 * adapters (MONGO_DIALECT, or `--to mongodb|ferretdb-v1`): for ferretdb-v1,
 * every Asset numbered into list buckets and a counter per user (databases
 * from before buckets, or moved from MongoDB); for mongodb, neither (moved
 * from the embedded server). Then each adapter's indexes: the other dialect's
 * dropped, those with other options rebuilt, the missing created. Idempotent
 * and resumable (user by user); prints its progress. Without MONGO_URL it
 * migrates the embedded database of `bun run dev` (.data/db).
 */
import { join } from "node:path";
import { migrateAssets } from "@pipeline/assets";
import { loadConfig, mongoConfigSchema } from "@pipeline/runtime/config";
import { createLogger } from "@pipeline/runtime/logger";
import { connectMongo, MONGO_DIALECTS, type MongoDialect } from "@pipeline/runtime/mongo";
import { migrateWebhooks } from "@pipeline/webhooks";
import { webhookTargetConfigSchema } from "@pipeline/webhooks/config";
import { type EmbeddedDatabase, startEmbeddedDatabase } from "./lib/embedded-db.ts";
import { freePort, ROOT } from "./lib/processes.ts";

const log = (line: string) => console.log(`migrate: ${line}`);

function targetOf(args: string[]): MongoDialect | undefined {
  const at = args.indexOf("--to");
  if (at === -1) return undefined;
  const to = args[at + 1];
  if (!MONGO_DIALECTS.includes(to as MongoDialect)) throw new Error(`--to must be ${MONGO_DIALECTS.join(" or ")}`);
  return to as MongoDialect;
}

let database: EmbeddedDatabase | undefined;
try {
  const to = targetOf(process.argv.slice(2));
  const env = { ...process.env };
  if (!env.MONGO_URL) {
    database = await startEmbeddedDatabase({ port: await freePort(), dataDir: join(ROOT, ".data", "db"), quiet: true, progress: log });
    env.MONGO_URL = `${database.url}collectibles`;
  }
  const config = loadConfig(mongoConfigSchema.extend(webhookTargetConfigSchema.shape), env);
  const logger = createLogger("migrate", "silent");
  const started = performance.now();
  const connection = await connectMongo(config.MONGO_URL, logger, to ?? config.MONGO_DIALECT);
  try {
    log(`${config.MONGO_URL.replace(/\/\/[^@/]*@/, "//")}: the ${connection.dialect} layout${to ? " (--to)" : ` (MONGO_DIALECT=${config.MONGO_DIALECT})`}`);
    await migrateAssets(connection.db, connection.dialect, log);
    await migrateWebhooks(connection.db, connection.dialect, { retentionDays: config.WEBHOOK_DELIVERY_RETENTION_DAYS }, log);
    log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s (uploads meanwhile may need another run, which does only what is left)`);
  } finally {
    await connection.client.close();
  }
} catch (error) {
  console.error(`migrate: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await database?.stop();
}
