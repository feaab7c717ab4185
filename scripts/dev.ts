/**
 * `bun run dev`: the whole stack without Docker, with everything it needs
 * started by itself, and stopped by Ctrl-C (SIGINT or SIGTERM):
 * - Redis: the one at REDIS_URL (default redis://127.0.0.1:6379) if it
 *   answers, else a private redis-server on a free port, data in .data/redis;
 * - unless MONGO_URL is set, the embedded database (FerretDB on a private
 *   PostgreSQL, data in .data/db; FerretDB is built on the first run);
 * - the four services.
 * Ports: GATEWAY_PORT (3000), INGEST_PORT (3001), NOTIFIER_PORT (3002),
 * WORKER_PORT (3003), DB_PORT (27017, the embedded database).
 * Once every service is ready it prints the URLs, a token for a demo user and
 * a `curl` that uploads examples/sneaker.jpg.
 */

import { join } from "node:path";
import { DEMO_USER_ID } from "@pipeline/runtime/auth";
import type { Subprocess } from "bun";
import { sign } from "hono/jwt";
import { type EmbeddedDatabase, startEmbeddedDatabase } from "./lib/embedded-db.ts";
import { MissingPrerequisite } from "./lib/prerequisites.ts";
import { portIsFree, ROOT, SERVICES, type ServiceName, shown, spawnService, stopProcess, waitForHttp } from "./lib/processes.ts";
import { type PrivateRedis, provideRedis } from "./lib/redis.ts";

/** The demo user of the printed token (any 24-hex ObjectId is a user). */
const DEV_JWT_SECRET = "dev-only-secret-do-not-use-in-production";
const startedAt = performance.now();
const log = (line: string) => console.log(`dev: ${line}`);

function envPort(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    console.error(`dev: ${name} must be a port number (1-65535), not "${raw}"`);
    process.exit(1);
  }
  return port;
}

const ports: Record<ServiceName, number> = {
  gateway: envPort("GATEWAY_PORT", 3000),
  ingest: envPort("INGEST_PORT", 3001),
  notifier: envPort("NOTIFIER_PORT", 3002),
  "ai-worker": envPort("WORKER_PORT", 3003),
};
const dbPort = envPort("DB_PORT", 27017);
const PORT_VARIABLES: Record<ServiceName, string> = { gateway: "GATEWAY_PORT", ingest: "INGEST_PORT", notifier: "NOTIFIER_PORT", "ai-worker": "WORKER_PORT" };

// Everything started so far, stopped in reverse order.
const children: Subprocess[] = [];
let database: EmbeddedDatabase | undefined;
let redis: PrivateRedis | undefined;
const aborter = new AbortController();
let stopping = false;
let startup: Promise<void> = Promise.resolve();

async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    aborter.abort(); // stops a FerretDB build in progress
    // The services first: then a start-up still waiting for one of them fails at once, and whatever
    // else it was starting (the database, Redis) is recorded by the time it settles.
    await Promise.all(children.map((child) => stopProcess(child)));
    await startup.catch(() => undefined);
    await database?.stop().catch((error) => console.error(`dev: stopping the database: ${(error as Error).message}`));
    await redis?.stop().catch((error) => console.error(`dev: stopping redis-server: ${(error as Error).message}`));
    if (code === 0) log("stopped everything it started");
    process.exit(code);
  }
  return new Promise<never>(() => {});
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));
// Last resort (an uncaught error): no child outlives this process.
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  database?.kill();
  redis?.kill();
});

/** Throws when Ctrl-C came while the previous step ran; the step's result is already recorded for stopAll. */
function checkNotStopping(): void {
  if (stopping) throw new Error("stopped during start-up");
}

async function start(): Promise<{ env: Record<string, string>; mongoUrl: string; redisUrl: string }> {
  const taken = (Object.keys(ports) as ServiceName[])
    .filter((name) => !portIsFree(ports[name]))
    .map((name) => `${ports[name]} (${name}, ${PORT_VARIABLES[name]})`);
  if (!process.env.MONGO_URL && !portIsFree(dbPort)) taken.push(`${dbPort} (database, DB_PORT)`);
  if (taken.length) throw new Error(`port${taken.length > 1 ? "s" : ""} ${taken.join(", ")} already in use: stop what listens there, or set the variable`);

  const env: Record<string, string> = {
    INGEST_URL: `http://127.0.0.1:${ports.ingest}`,
    PUBLIC_URL: process.env.PUBLIC_URL || `http://127.0.0.1:${ports.gateway}`,
    NOTIFIER_PUBLIC_URL: process.env.NOTIFIER_PUBLIC_URL || `http://127.0.0.1:${ports.notifier}`,
  };
  // In development any page may call the API and connect sockets; production allows no origin unless told.
  if (!process.env.CORS_ORIGIN) env.CORS_ORIGIN = "*";
  // The web page's "demo user" button (POST /api/dev/token): on in development unless the user set DEV_LOGIN.
  if (!process.env.DEV_LOGIN) env.DEV_LOGIN = "true";
  // Webhooks to local receivers (plain HTTP, loopback): on in development unless the user set WEBHOOK_ALLOW_PRIVATE.
  if (!process.env.WEBHOOK_ALLOW_PRIVATE) env.WEBHOOK_ALLOW_PRIVATE = "true";
  if (!process.env.JWT_SECRET) {
    env.JWT_SECRET = DEV_JWT_SECRET;
    console.warn(`\n  dev: JWT_SECRET is not set; using the DEV-ONLY value "${env.JWT_SECRET}". Never use it in production.\n`);
  }

  // On a Redis Cluster (REDIS_CLUSTER_NODES, passed on in env) there is no Redis to provide.
  if (!process.env.REDIS_CLUSTER_NODES) {
    const provided = await provideRedis(process.env.REDIS_URL, { dataDir: join(ROOT, ".data", "redis"), persist: true, progress: log });
    redis = provided.started;
    env.REDIS_URL = provided.url;
    checkNotStopping();
  }

  if (process.env.MONGO_URL) {
    env.MONGO_URL = process.env.MONGO_URL;
  } else {
    database = await startEmbeddedDatabase({ port: dbPort, dataDir: join(ROOT, ".data", "db"), progress: log, signal: aborter.signal });
    env.MONGO_URL = `${database.url}collectibles`;
    checkNotStopping();
    log(`FerretDB v1.24.2 on a private PostgreSQL at 127.0.0.1:${dbPort} (data in ${shown(database.pgData)})`);
  }

  const running = new Map<ServiceName, Subprocess>();
  const launch = async (name: ServiceName) => {
    // Each service on its own port (a PORT in this shell would otherwise reach all four).
    const child = spawnService(name, { ...env, PORT: String(ports[name]) });
    children.push(child);
    running.set(name, child);
    void child.exited.then((code) => {
      if (!stopping) {
        console.error(`dev: ${name} exited with ${code}; stopping the stack`);
        void stopAll(1);
      }
    });
    await waitForHttp(`http://127.0.0.1:${ports[name]}/healthz`, 30_000, child);
  };
  // The gateway last, so that it finds ingest when it checks readiness.
  await Promise.all(SERVICES.filter((name) => name !== "gateway").map(launch));
  checkNotStopping();
  await launch("gateway");
  await Promise.all(SERVICES.map((name) => waitForHttp(`http://127.0.0.1:${ports[name]}/readyz`, 60_000, running.get(name))));
  checkNotStopping();
  return { env, mongoUrl: env.MONGO_URL, redisUrl: process.env.REDIS_CLUSTER_NODES ? `cluster ${process.env.REDIS_CLUSTER_NODES}` : (env.REDIS_URL as string) };
}

startup = start().then(async ({ env, mongoUrl, redisUrl }) => {
  const secret = env.JWT_SECRET ?? (process.env.JWT_SECRET as string);
  const now = Math.floor(Date.now() / 1000);
  const token = await sign({ sub: DEMO_USER_ID, iat: now, exp: now + 24 * 3600 }, secret, "HS256");
  const gateway = `http://127.0.0.1:${ports.gateway}`;
  const image = shown(join(ROOT, "examples", "sneaker.jpg"));
  const lines = [
    "",
    `dev: ready in ${((performance.now() - startedAt) / 1000).toFixed(1)} s. Ctrl-C stops everything it started.`,
    `  web page   ${gateway}/  (open it; "Sign in as the demo user")`,
    `  gateway    ${gateway}  (the API under /api, /docs, /api/openapi.json, /media)`,
    `  notifier   http://127.0.0.1:${ports.notifier}  (Socket.IO: io(url, { auth: { token } }))`,
    `  ingest     http://127.0.0.1:${ports.ingest}, ai-worker http://127.0.0.1:${ports["ai-worker"]}  (health and metrics only)`,
    `  redis      ${redisUrl}${redis ? ` (private, data in ${shown(redis.dataDir)})` : ""}`,
    `  database   ${mongoUrl.replace(/\/\/[^@/]*@/, "//")}${database ? ` (FerretDB, data in ${shown(database.pgData)})` : ""}`,
    "",
    `  token of the demo user ${DEMO_USER_ID} (valid 24 h):`,
    `    ${token}`,
    "",
    "  upload the sample image (then watch the ai-worker and notifier logs, or GET /api/assets/<assetId>):",
    `    curl -F image=@${image} -F category=sneaker -H "Authorization: Bearer ${token}" ${gateway}/api/assets/analyze-queue`,
    "  or, with the CLI: bun run cli analyze examples/sneaker.jpg --category sneaker --token <the token above>",
    "",
  ];
  console.log(lines.join("\n"));
});

startup.catch(async (error: unknown) => {
  if (stopping) return; // Ctrl-C during start-up: stopAll reports and exits
  console.error(error instanceof MissingPrerequisite ? `\ndev: ${error.message}\n` : `\ndev: could not start: ${(error as Error).message}\n`);
  await stopAll(1);
});
