/**
 * The servers end-to-end tests share, started on first use (so unit tests,
 * which need none, run without them): Redis must answer at REDIS_URL, and a
 * MongoDB-wire server is MONGO_URL's when set, else a FerretDB started on a
 * free port with its data in a temporary folder, stopped when the run ends.
 * Each test file still gets its own database name and queue prefix.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, redisAnswers, startFerretDb } from "../../scripts/lib/processes.ts";

export const TEST_REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

let redisChecked: Promise<void> | undefined;
let mongoBase: Promise<string> | undefined;

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
  const dataDir = mkdtempSync(join(tmpdir(), "pipeline-ferretdb-"));
  const port = await freePort();
  const ferret = await startFerretDb({ port, dataDir, quiet: true });
  process.on("exit", () => {
    ferret.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });
  return `mongodb://127.0.0.1:${port}`;
}
