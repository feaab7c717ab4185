/**
 * The servers end-to-end tests share, started on first use (so unit tests,
 * which need none, run without them): Redis must answer at REDIS_URL, and a
 * MongoDB-wire server is MONGO_URL's when set, else the embedded database
 * (FerretDB on a private PostgreSQL, as `bun run dev` starts it) on a free
 * port with its data in a temporary folder, stopped when the run ends.
 * Each test file still gets its own database name and queue prefix.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmbeddedDatabase } from "../../scripts/lib/embedded-db.ts";
import { freePort, redisAnswers } from "../../scripts/lib/processes.ts";

export const TEST_REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

let redisChecked: Promise<void> | undefined;
let mongoBase: Promise<string> | undefined;
let stopDatabase: (() => Promise<void>) | undefined;

export function requireRedis(): Promise<void> {
  redisChecked ??= redisAnswers(TEST_REDIS_URL).then((up) => {
    if (!up) throw new Error(`end-to-end tests need Redis at ${TEST_REDIS_URL} (set REDIS_URL)`);
  });
  return redisChecked;
}

/** `mongodb://host:port` without a database name; tests append their own. */
export function sharedMongoBase(): Promise<string> {
  mongoBase ??= startMongo();
  return mongoBase;
}

async function startMongo(): Promise<string> {
  if (process.env.MONGO_URL) {
    const url = new URL(process.env.MONGO_URL);
    url.pathname = "/";
    return url.toString().replace(/\/$/, "");
  }
  const dataDir = mkdtempSync(join(tmpdir(), "pipeline-db-"));
  // Run as root, PostgreSQL runs as an unprivileged user, who must be able to enter the folder.
  chmodSync(dataDir, 0o755);
  const database = await startEmbeddedDatabase({ port: await freePort(), dataDir, quiet: true });
  stopDatabase = async () => {
    await database.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return database.url.replace(/\/$/, "");
}

/** Stops the database this run started, if it started one (test/preload.ts calls it once, after every test file). */
export async function stopSharedServers(): Promise<void> {
  await stopDatabase?.();
}
