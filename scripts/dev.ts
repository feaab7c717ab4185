/**
 * `bun run dev`: the whole stack without Docker. Uses the Redis at REDIS_URL
 * and, unless MONGO_URL is set, the embedded database (FerretDB on a private
 * PostgreSQL, data in .data/db). Ctrl-C stops everything it started.
 */
import type { Subprocess } from "bun";
import { join } from "node:path";
import { type EmbeddedDatabase, startEmbeddedDatabase } from "./lib/embedded-db.ts";
import { DEFAULT_PORTS, ROOT, SERVICES, redisAnswers, spawnService, stopProcess, waitForHttp } from "./lib/processes.ts";

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
if (!(await redisAnswers(redisUrl))) {
  console.error(`dev: Redis does not answer at ${redisUrl}; start one (redis-server) or set REDIS_URL`);
  process.exit(1);
}

const env: Record<string, string> = {};
if (!process.env.JWT_SECRET) {
  env.JWT_SECRET = "dev-only-secret-do-not-use-in-production";
  console.warn(`\n  dev: JWT_SECRET is not set; using the DEV-ONLY value "${env.JWT_SECRET}". Never use it in production.\n`);
}

const children: Subprocess[] = [];
let database: EmbeddedDatabase | undefined;
if (!process.env.MONGO_URL) {
  database = await startEmbeddedDatabase({ port: 27017, dataDir: join(ROOT, ".data", "db") });
  env.MONGO_URL = `${database.url}collectibles`;
  console.log("dev: FerretDB v1.24.2 on a private PostgreSQL, 127.0.0.1:27017, data in .data/db");
}

let stopping = false;
async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  await Promise.all(children.map((child) => stopProcess(child)));
  await database?.stop();
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

for (const name of SERVICES) {
  // Each service on its own default port (a PORT in this shell would otherwise reach all four).
  const port = DEFAULT_PORTS[name];
  const child = spawnService(name, { ...env, PORT: String(port) });
  children.push(child);
  void child.exited.then((code) => {
    if (!stopping) {
      console.error(`dev: ${name} exited with ${code}; stopping the stack`);
      void stopAll(1);
    }
  });
  // Ingest before the gateway, so the gateway is ready when it says so.
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, 30_000, child);
}
console.log(`dev: gateway http://127.0.0.1:${DEFAULT_PORTS.gateway}, notifier ws://127.0.0.1:${DEFAULT_PORTS.notifier}; Ctrl-C stops everything`);
