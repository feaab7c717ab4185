/**
 * Fan-out benchmark of the notifier, on demand (not part of `bun test`):
 *
 *   bun bench/fanout.ts [--sockets 2000] [--replicas 2] [--rate 0] [--timeout-s 120]
 *
 * Spawns real notifier processes on loopback ports (their own queue prefix
 * in the Redis at REDIS_URL), connects N socket.io-client websockets, one user
 * each, spread evenly over the replicas, then publishes one outcome per user
 * on the `asset-outcomes` queue as the ai-worker does (all at once, or
 * `--rate` per second to see latency without a backlog) and waits for every
 * event. Prints delivery latency (queue add to client receipt) p50/p95/p99,
 * events per second, the notifiers' RSS per 1000 sockets, and whether every
 * socket got its own event exactly once. Stops by itself (deadline), cleans
 * up its processes and Redis keys.
 */

import { parseArgs } from "node:util";
import { ASSET_PROCESSED_EVENT, type AssetProcessedEvent } from "@pipeline/contracts/events";
import { ClientEvents } from "@pipeline/messaging";

import type { Subprocess } from "bun";
import { sign } from "hono/jwt";
import { Redis } from "ioredis";
import { Types } from "mongoose";
import { io, type Socket } from "socket.io-client";
import { freePort, redisAnswers, spawnService, stopProcess, waitForHttp } from "../scripts/lib/processes.ts";
import { sharedMongoBase, stopSharedServers } from "../test/helpers/shared-servers.ts";

const { values: args } = parseArgs({
  options: {
    sockets: { type: "string", default: "2000" },
    replicas: { type: "string", default: "2" },
    rate: { type: "string", default: "0" },
    "timeout-s": { type: "string", default: "120" },
  },
});
const SOCKETS = Number(args.sockets);
const REPLICAS = Number(args.replicas);
const RATE = Number(args.rate);
const DEADLINE_MS = Number(args["timeout-s"]) * 1000;
if (!(SOCKETS > 0 && REPLICAS > 0 && DEADLINE_MS > 0 && RATE >= 0))
  throw new Error("--sockets, --replicas and --timeout-s must be positive numbers, --rate 0 (all at once) or more");

// --- File descriptors: this process holds every client socket. Re-run under a raised soft limit if needed.
const fdsNeeded = SOCKETS + 1024;
const shell = (script: string) => Bun.spawnSync(["sh", "-c", script]).stdout.toString().trim();
const softLimit = Number(shell("ulimit -Sn")) || 0;
if (softLimit < fdsNeeded && !process.env.FANOUT_RAISED_FDS) {
  const hard = shell("ulimit -Hn");
  const target = hard === "unlimited" ? fdsNeeded : Math.min(Number(hard), fdsNeeded);
  if (target < fdsNeeded) console.warn(`warning: file descriptor hard limit ${hard} is below the ${fdsNeeded} this run needs`);
  console.log(`raising the open-files limit from ${softLimit} to ${target}`);
  const child = Bun.spawn(["sh", "-c", `ulimit -n ${target} && exec "$0" "$@"`, process.execPath, ...process.argv.slice(1)], {
    env: { ...process.env, FANOUT_RAISED_FDS: "1" },
    stdio: ["inherit", "inherit", "inherit"],
  });
  process.exit(await child.exited);
}

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
if (!(await redisAnswers(redisUrl))) throw new Error(`the benchmark needs Redis at ${redisUrl} (set REDIS_URL)`);

const prefix = `bench${Date.now().toString(36)}`;
const secret = crypto.randomUUID() + crypto.randomUUID();
const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
const notifiers: { proc: Subprocess; url: string }[] = [];
const sockets: Socket[] = [];
let publisher: ClientEvents | undefined;

async function cleanUp(): Promise<void> {
  for (const socket of sockets) socket.close();
  await publisher?.close().catch(() => undefined);
  await Promise.all(notifiers.map((n) => stopProcess(n.proc, 10_000)));
  await stopSharedServers();
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== "0");
  redis.disconnect();
}

const deadline = setTimeout(async () => {
  console.error(`deadline of ${DEADLINE_MS / 1000} s passed; stopping`);
  await cleanUp().catch(() => undefined);
  process.exit(1);
}, DEADLINE_MS);

async function rssBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("process_resident_memory_bytes"));
  return Number(line?.slice(line.lastIndexOf(" ") + 1) ?? Number.NaN);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

try {
  console.log(
    `fan-out: ${SOCKETS} sockets (one user each) over ${REPLICAS} notifier replicas, one event per user, ${RATE > 0 ? `${RATE} events/s` : "all at once"}`,
  );
  // The notifiers keep webhooks in the database: MONGO_URL's, or the embedded one the tests use.
  const mongoUrl = process.env.MONGO_URL ?? `${await sharedMongoBase()}/${prefix}`;
  for (let i = 0; i < REPLICAS; i++) {
    const port = await freePort();
    const proc = spawnService(
      "notifier",
      { JWT_SECRET: secret, REDIS_URL: redisUrl, MONGO_URL: mongoUrl, QUEUE_PREFIX: prefix, PORT: String(port), LOG_LEVEL: "warn" },
      { quiet: true },
    );
    const url = `http://127.0.0.1:${port}`;
    notifiers.push({ proc, url });
    await waitForHttp(`${url}/healthz`, 30_000, proc);
  }
  await Bun.sleep(500);
  const rssBefore = await Promise.all(notifiers.map((n) => rssBytes(n.url)));

  // --- Connect: one user per socket, round-robin over the replicas, 200 handshakes in flight at most.
  const users = Array.from({ length: SOCKETS }, () => new Types.ObjectId().toHexString());
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const received = new Map<string, number[]>(); // assetId -> receipt times
  const expectedFor = new Map<string, string>(); // userId -> the assetId of their one event
  const wrongUser: string[] = [];
  const connectStarted = performance.now();
  for (let start = 0; start < SOCKETS; start += 200) {
    await Promise.all(
      users.slice(start, start + 200).map(async (userId, j) => {
        const token = await sign({ sub: userId, exp }, secret, "HS256");
        const socket = io(notifiers[(start + j) % REPLICAS]!.url, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });
        sockets.push(socket);
        socket.on(ASSET_PROCESSED_EVENT, (event: AssetProcessedEvent) => {
          const at = performance.now();
          if (expectedFor.get(userId) !== event.assetId) wrongUser.push(event.assetId);
          const times = received.get(event.assetId) ?? [];
          times.push(at);
          received.set(event.assetId, times);
        });
        await new Promise<void>((resolve, reject) => {
          socket.once("connect", () => resolve());
          socket.once("connect_error", reject);
        });
      }),
    );
  }
  const connectMs = performance.now() - connectStarted;
  await Bun.sleep(1000);
  const rssAfter = await Promise.all(notifiers.map((n) => rssBytes(n.url)));
  const perReplica = await Promise.all(notifiers.map(async (n) => (await (await fetch(`${n.url}/metrics/sockets`)).json()) as { sockets: number }));

  // --- Publish one outcome per user, as the ai-worker does.
  publisher = new ClientEvents(redis, prefix);
  const sentAt = new Map<string, number>();
  const publishStarted = performance.now();
  // All at once in batches of 500, or `--rate` per second in batches of 1/20 s.
  const batchSize = RATE > 0 ? Math.max(1, Math.round(RATE / 20)) : 500;
  for (let start = 0; start < SOCKETS; start += batchSize) {
    const batch = users.slice(start, start + batchSize).map((userId) => {
      const assetId = new Types.ObjectId().toHexString();
      expectedFor.set(userId, assetId);
      const payload: AssetProcessedEvent = {
        event: "asset_processed",
        assetId,
        status: "failed",
        error: "benchmark outcome",
        timestamp: new Date().toISOString(),
      };
      return { userId, event: ASSET_PROCESSED_EVENT, payload, runId: assetId };
    });
    const now = performance.now();
    for (const { payload } of batch) sentAt.set(payload.assetId, now);
    await publisher.emitMany(batch);
    if (RATE > 0) await Bun.sleep(Math.max(0, publishStarted + ((start + batchSize) / RATE) * 1000 - performance.now()));
  }
  const publishMs = performance.now() - publishStarted;

  while (received.size < SOCKETS) await Bun.sleep(20);
  await Bun.sleep(1000); // duplicates, if any, show up here
  const latencies = [...received.entries()].map(([assetId, times]) => (times[0] ?? 0) - (sentAt.get(assetId) ?? 0)).sort((a, b) => a - b);
  const firstSent = Math.min(...sentAt.values());
  const lastReceived = Math.max(...[...received.values()].map((times) => times[0] ?? 0));
  const duplicates = [...received.values()].filter((times) => times.length > 1).length;
  const rssDelta = rssAfter.reduce((sum, after, i) => sum + (after - (rssBefore[i] ?? 0)), 0);

  console.log(`connected ${SOCKETS} sockets in ${fmt(connectMs / 1000, 2)} s (${perReplica.map((r) => r.sockets).join(" + ")} per replica)`);
  console.log(`published ${SOCKETS} outcomes in ${fmt(publishMs / 1000, 2)} s`);
  console.log(
    `latency (queue add -> client receipt): p50 ${fmt(percentile(latencies, 50))} ms, p95 ${fmt(percentile(latencies, 95))} ms, p99 ${fmt(percentile(latencies, 99))} ms, max ${fmt(latencies.at(-1) ?? Number.NaN)} ms`,
  );
  console.log(
    `throughput: ${fmt(SOCKETS / ((lastReceived - firstSent) / 1000), 0)} events/s (${SOCKETS} events in ${fmt((lastReceived - firstSent) / 1000, 2)} s)`,
  );
  console.log(
    `notifier RSS: before ${rssBefore.map((b) => `${fmt(b / 2 ** 20)} MiB`).join(", ")}; with sockets ${rssAfter.map((b) => `${fmt(b / 2 ** 20)} MiB`).join(", ")}; ` +
      `${fmt(rssDelta / 2 ** 20 / (SOCKETS / 1000))} MiB per 1000 sockets`,
  );
  console.log(`exactly once: ${duplicates === 0 && wrongUser.length === 0 ? "yes" : `NO (${duplicates} duplicated, ${wrongUser.length} to the wrong user)`}`);
} finally {
  clearTimeout(deadline);
  await cleanUp();
}
process.exit(0);
