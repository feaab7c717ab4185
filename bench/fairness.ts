/**
 * The fair share of `ai-processing`, measured at the queue: real BullMQ on a private Redis (so its
 * command counts are this run's alone), one worker whose job stands in for the AI call (a sleep of
 * --ai-ms), the producer's and worker's own code for the fair share. Run on demand:
 *
 *   bun bench/fairness.ts [--backlog 2000] [--ai-ms 50] [--concurrency 1] [--throughput-jobs 5000]
 *
 * 1. Lone-upload latency: user A queues --backlog jobs, then user B queues one; the time from B's
 *    add to B's job finishing, first in, first out (no priority: how main queues) and fair.
 * 2. Cost: a backlog of --throughput-jobs jobs alone in the queue, with no AI delay and 16 slots,
 *    FIFO and fair: jobs/s, and Redis commands per job (INFO commandstats, scripts' inner calls included).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { JobData } from "@pipeline/contracts/jobs";
import { AI_JOB_DEFAULTS, AI_JOB_NAME, AI_QUEUE, aiJobOptions, FairShare } from "@pipeline/messaging";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { Types } from "mongoose";
import { freePort, stopProcess, waitForTcp } from "../scripts/lib/processes.ts";

const { values: args } = parseArgs({
  options: {
    backlog: { type: "string", default: "2000" },
    "ai-ms": { type: "string", default: "50" },
    concurrency: { type: "string", default: "1" },
    "throughput-jobs": { type: "string", default: "5000" },
  },
});
const backlog = Number(args.backlog);
const aiMs = Number(args["ai-ms"]);
const concurrency = Number(args.concurrency);
const throughputJobs = Number(args["throughput-jobs"]);

const dir = mkdtempSync(join(tmpdir(), "bench-redis-"));
const port = await freePort();
const redisProc = Bun.spawn(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
  stdout: "ignore",
  stderr: "ignore",
});
await waitForTcp(port, 10_000, redisProc);
const url = `redis://127.0.0.1:${port}`;
const admin = new Redis(url);

type Mode = "fifo" | "fair";
const options = aiJobOptions({ ...AI_JOB_DEFAULTS });
const dataOf = (userId: string): JobData => ({
  assetId: new Types.ObjectId().toHexString(),
  userId,
  imageUrl: "https://media.test/photo.jpg",
  category: "sneaker",
  createdAt: new Date().toISOString(),
  attempt: 0,
});

let run = 0;
/** A queue, its fair share and a worker of `slots` whose job sleeps `delayMs`; `onDone` hears each finished job id. */
async function setUp(mode: Mode, slots: number, delayMs: number, onDone: (jobId: string) => void) {
  const prefix = `bench${run++}`;
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const workerConnection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue<JobData>(AI_QUEUE, { connection, prefix });
  const fair = new FairShare(connection, prefix, AI_QUEUE);
  const worker = new Worker<JobData>(
    AI_QUEUE,
    async (job) => {
      // As the ai-worker does on start (services/ai-worker/src/worker.ts).
      if (mode === "fair") await fair.release(job.data.userId, job.id as string, "upload", job.opts.priority);
      if (delayMs) await Bun.sleep(delayMs);
    },
    { connection: workerConnection, prefix, concurrency: slots, autorun: false },
  );
  worker.on("completed", (job) => onDone(job.id as string));
  /** As the producer does (services/ingest/src/queue.ts); FIFO is main's add, without a priority. */
  const add = async (userId: string, jobId: string) => {
    const priority = mode === "fair" ? await fair.admit(userId, jobId, "upload") : undefined;
    await queue.add(AI_JOB_NAME, dataOf(userId), { ...options, jobId, ...(priority ? { priority } : {}) });
  };
  const close = async () => {
    await worker.close(true);
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
    workerConnection.disconnect();
  };
  return { queue, worker, add, close };
}

async function loneUploadLatency(mode: Mode): Promise<{ ms: number; position: number }> {
  const finished: string[] = [];
  let loneDone: (() => void) | undefined;
  const done = new Promise<void>((resolve) => {
    loneDone = resolve;
  });
  const bench = await setUp(mode, concurrency, aiMs, (jobId) => {
    finished.push(jobId);
    if (jobId === "lone") loneDone?.();
  });
  const heavy = new Types.ObjectId().toHexString();
  for (let i = 0; i < backlog; i++) await bench.add(heavy, `heavy-${i}`);
  bench.worker.run();
  // The backlog is under way (as after an import), then the lone user uploads.
  while (finished.length < 5) await Bun.sleep(5);
  const t0 = performance.now();
  await bench.add(new Types.ObjectId().toHexString(), "lone");
  const finishedBefore = finished.length;
  await done;
  const ms = performance.now() - t0;
  const position = finished.indexOf("lone") - finishedBefore;
  await bench.close();
  return { ms, position };
}

/** Commands Redis ran (scripts' inner calls counted by their command), from INFO commandstats. */
async function commandCount(): Promise<number> {
  const info = await admin.info("commandstats");
  return [...info.matchAll(/calls=(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
}

async function throughput(mode: Mode): Promise<{ jobsPerS: number; commandsPerJob: number }> {
  let finished = 0;
  let allDone: (() => void) | undefined;
  const done = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const bench = await setUp(mode, 16, 0, () => {
    if (++finished === throughputJobs) allDone?.();
  });
  const user = new Types.ObjectId().toHexString();
  await admin.config("RESETSTAT");
  const t0 = performance.now();
  // One user's backlog alone (the case that must not slow down), added by 8 producers at once.
  let next = 0;
  const producer = async () => {
    while (next < throughputJobs) {
      const i = next++;
      await bench.add(user, `job-${i}`);
    }
  };
  bench.worker.run();
  await Promise.all(Array.from({ length: 8 }, producer));
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const commands = await commandCount();
  await bench.close();
  return { jobsPerS: throughputJobs / seconds, commandsPerJob: commands / throughputJobs };
}

try {
  console.log(`lone upload behind a ${backlog}-job backlog of another user; AI call ${aiMs} ms, ${concurrency} worker slot(s)`);
  const latency: Record<Mode, { ms: number; position: number }> = { fifo: await loneUploadLatency("fifo"), fair: await loneUploadLatency("fair") };
  for (const mode of ["fifo", "fair"] as const) {
    console.log(`  ${mode.padEnd(4)}: ${(latency[mode].ms / 1000).toFixed(2)} s to finish (${latency[mode].position} backlog jobs ran before it)`);
  }
  console.log(`backlog of ${throughputJobs} jobs alone, no AI delay, 16 slots`);
  for (const mode of ["fifo", "fair"] as const) {
    // Twice, the second counted (the first warms Redis's script cache and the JIT).
    await throughput(mode);
    const { jobsPerS, commandsPerJob } = await throughput(mode);
    console.log(`  ${mode.padEnd(4)}: ${jobsPerS.toFixed(0)} jobs/s, ${commandsPerJob.toFixed(1)} Redis commands per job`);
  }
} finally {
  admin.disconnect();
  await stopProcess(redisProc as never, 5000);
  rmSync(dir, { recursive: true, force: true });
}
