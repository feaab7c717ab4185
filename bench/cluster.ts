/**
 * Bare BullMQ jobs/s on one redis-server against a Redis Cluster, on demand
 * (not part of `bun test`):
 *
 *   bun bench/cluster.ts [--jobs 5000] [--concurrency 50] [--runs 3]
 *
 * Starts a private redis-server, a local cluster (three masters, three
 * replicas; test/helpers/redis-cluster.ts) and, to tell the cost of
 * replication from the cost of the cluster client, a cluster of three masters
 * without replicas, all on loopback on this machine. On each, one process adds `--jobs` jobs (addBulk of 100, the AI
 * job's options) to one queue while a Worker (empty processor, concurrency
 * `--concurrency`) takes them, and times the first add to the last
 * completion, and reads the CPU time the redis-servers (masters and replicas)
 * and this process spent meanwhile. Connections and prefixes are the
 * services' own (`redisConnection`, the hash-tagged prefix on the cluster).
 * Runs alternate between the targets; the median run is printed. Stops what
 * it started.
 */

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { AI_JOB_DEFAULTS, aiJobOptions } from "@pipeline/messaging";

import { baseConfigSchema, loadConfig } from "@pipeline/runtime/config";
import { redisConnection } from "@pipeline/runtime/redis";
import { Queue, Worker } from "bullmq";
import { startPrivateRedis } from "../scripts/lib/redis.ts";
import { startRedisCluster } from "../test/helpers/redis-cluster.ts";
import { startCpuWindow } from "./lib/proc-stats.ts";

const { values: args } = parseArgs({
  options: {
    jobs: { type: "string", default: "5000" },
    concurrency: { type: "string", default: "50" },
    runs: { type: "string", default: "3" },
  },
});
const JOBS = Number(args.jobs);
const CONCURRENCY = Number(args.concurrency);
const RUNS = Number(args.runs);
if (!(JOBS >= 100 && CONCURRENCY > 0 && RUNS > 0)) throw new Error("--jobs (at least 100), --concurrency and --runs must be positive numbers");

interface RunResult {
  perS: number;
  /** CPU ms per job: every redis-server of the target together, and this process (producer and worker). */
  redisMs: number;
  clientMs: number;
  /** Share of the machine's cores busy during the run (everything on it). */
  machineBusy: number;
}

/** One run: add JOBS jobs and process them; jobs/s from the first add to the last completion. */
async function run(env: Record<string, string>, redisPids: number[], label: string): Promise<RunResult> {
  const config = loadConfig(baseConfigSchema, { ...env, QUEUE_PREFIX: `bench${Date.now().toString(36)}` });
  const producer = redisConnection(config, "producer");
  const consumer = redisConnection(config, "worker");
  const queue = new Queue("bench", { connection: producer, prefix: config.QUEUE_PREFIX });
  let completed = 0;
  const done = Promise.withResolvers<void>();
  const worker = new Worker("bench", async () => undefined, { connection: consumer, prefix: config.QUEUE_PREFIX, concurrency: CONCURRENCY, autorun: false });
  worker.on("completed", () => {
    if (++completed === JOBS) done.resolve();
  });
  await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
  const options = aiJobOptions(AI_JOB_DEFAULTS);
  const cpu = startCpuWindow([
    { name: "redis", pids: () => redisPids },
    { name: "client", pids: () => [process.pid] },
  ]);
  void worker.run();
  for (let added = 0; added < JOBS; added += 100) {
    await queue.addBulk(Array.from({ length: Math.min(100, JOBS - added) }, (_, i) => ({ name: "job", data: { i: added + i }, opts: options })));
  }
  await done.promise;
  const window = cpu.stop();
  const result: RunResult = {
    perS: JOBS / (window.wallMs / 1000),
    redisMs: (window.cpuMs.redis ?? Number.NaN) / JOBS,
    clientMs: (window.cpuMs.client ?? Number.NaN) / JOBS,
    machineBusy: window.machineBusyShare,
  };
  await worker.close();
  // Leave nothing behind: the run's keys all start with its prefix (on the cluster, in its one slot).
  await queue.obliterate({ force: true });
  await queue.close();
  await Promise.all([producer.quit(), consumer.quit()]);
  console.log(
    `  ${label}: ${Math.round(result.perS).toLocaleString("en")} jobs/s, CPU ms per job redis ${result.redisMs.toFixed(3)} client ${result.clientMs.toFixed(3)}, machine ${Math.round(result.machineBusy * 100)} % busy`,
  );
  return result;
}

/** The run with the median jobs/s. */
const median = (runs: RunResult[]) => [...runs].sort((a, b) => a.perS - b.perS)[Math.floor(runs.length / 2)];

const single = await startPrivateRedis({ dataDir: mkdtempSync(join(tmpdir(), "pipeline-bench-redis-")) });
const clusters = await Promise.all([startRedisCluster(), startRedisCluster({ replicas: 0 })]).catch(async (error) => {
  await single.stop();
  throw error;
});
try {
  const [cluster, noReplicas] = clusters;
  const targets = {
    "one redis-server": { env: { REDIS_URL: single.url }, pids: [single.pid] },
    "cluster, 3 masters + 3 replicas": { env: { REDIS_CLUSTER_NODES: cluster.nodeList }, pids: cluster.nodes.map((node) => node.proc.pid) },
    "cluster, 3 masters, no replicas": { env: { REDIS_CLUSTER_NODES: noReplicas.nodeList }, pids: noReplicas.nodes.map((node) => node.proc.pid) },
  };
  const names = Object.keys(targets) as (keyof typeof targets)[];
  console.log(`${JOBS} jobs, Worker concurrency ${CONCURRENCY}, ${RUNS} runs each (after a warm-up run each)`);
  const results = new Map(names.map((name) => [name, [] as RunResult[]]));
  for (const name of names) await run(targets[name].env, targets[name].pids, `${name}, warm-up`);
  for (let i = 1; i <= RUNS; i++) {
    for (const name of names) results.get(name)?.push(await run(targets[name].env, targets[name].pids, `${name}, run ${i}`));
  }
  const base = median(results.get(names[0]!) ?? [])?.perS ?? Number.NaN;
  console.log(
    "\n| Redis (one queue: on a cluster, on one master) | jobs/s (median run) | ÷ one redis-server | CPU ms per job: redis-servers / client | machine busy |",
  );
  console.log("|---|---|---|---|---|");
  for (const name of names) {
    const m = median(results.get(name) ?? []);
    if (!m) continue;
    const cells = [
      Math.round(m.perS).toLocaleString("en"),
      (m.perS / base).toFixed(2),
      `${m.redisMs.toFixed(3)} / ${m.clientMs.toFixed(3)}`,
      `${Math.round(m.machineBusy * 100)} %`,
    ];
    console.log(`| ${name} | ${cells.join(" | ")} |`);
  }
} finally {
  await Promise.all(clusters.map((cluster) => cluster.stop()));
  await single.stop();
}
