/**
 * The servers end-to-end tests share, started on first use (so unit tests,
 * which need none, run without them), and stopped when the run ends:
 * - Redis: the one at REDIS_URL (default redis://127.0.0.1:6379) when it
 *   answers, else a private redis-server on a free port with its data in a
 *   temporary folder under .data/ (scripts/lib/redis.ts decides, as for
 *   `bun run dev`). A Redis the run did not start is only used: tests delete
 *   only their own prefixed keys.
 * - A MongoDB-wire server: MONGO_URL's when set, else the embedded database
 *   (FerretDB on a private PostgreSQL, as `bun run dev` starts it) on a free
 *   port with its data in a temporary folder.
 * Each test file still gets its own database name and queue prefix. (Ctrl-C
 * in a terminal reaches these servers too, as they share the test run's
 * process group; bun test runs no exit handlers.)
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmbeddedDatabase } from "../../scripts/lib/embedded-db.ts";
import { freePort, ROOT } from "../../scripts/lib/processes.ts";
import { DEFAULT_REDIS_URL, type PrivateRedis, provideRedis } from "../../scripts/lib/redis.ts";

/** The Redis of end-to-end tests; final once requireRedis() has resolved (a private server's URL is known only then). */
export let TEST_REDIS_URL = process.env.REDIS_URL || DEFAULT_REDIS_URL;

let redisReady: Promise<void> | undefined;
let privateRedis: PrivateRedis | undefined;
let mongoBase: Promise<string> | undefined;
let stopDatabase: (() => Promise<void>) | undefined;

const progress = (line: string) => console.error(`test: ${line}`);

export function requireRedis(): Promise<void> {
  redisReady ??= (async () => {
    const dataRoot = join(ROOT, ".data");
    mkdirSync(dataRoot, { recursive: true });
    try {
      const { url, started } = await provideRedis(process.env.REDIS_URL, { dataDir: join(dataRoot, `redis-test-${process.pid}`), progress });
      privateRedis = started;
      TEST_REDIS_URL = url;
    } catch (error) {
      throw new Error(`end-to-end tests need Redis: ${(error as Error).message}`);
    }
  })();
  return redisReady;
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
  const database = await startEmbeddedDatabase({ port: await freePort(), dataDir, quiet: true, progress });
  stopDatabase = async () => {
    await database.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return database.url.replace(/\/$/, "");
}

/** Stops what this run started, if anything (test/preload.ts calls it once, after the last test file). */
export async function stopSharedServers(): Promise<void> {
  await stopDatabase?.();
  stopDatabase = undefined;
  await privateRedis?.stop();
  privateRedis = undefined;
}
