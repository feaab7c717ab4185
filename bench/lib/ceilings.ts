/**
 * What the machine and the same servers do with nothing of the pipeline in
 * the way: (a) BullMQ add + empty processor, (b) the database's insert +
 * conditional update + read by _id, (c) a bare Bun.serve reading the same
 * multipart upload. Each runs a short warm-up, then counts completions over
 * a fixed window while the CPU of the processes involved is read.
 */

import { join } from "node:path";
import type { MongoDialect } from "@pipeline/runtime/mongo";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import mongoose from "mongoose";
import { freePort, stopProcess, waitForHttp } from "../../scripts/lib/processes.ts";
import { closedLoop, sendUpload } from "./load.ts";
import { type CpuWindow, startCpuWindow, type Watched } from "./proc-stats.ts";
import { deleteKeys } from "./redis.ts";
import { ensureAssetIndexes } from "./seed.ts";

export interface CeilingResult {
  /** Completed operations per second over the window. */
  perS: number;
  count: number;
  windowS: number;
  /** CPU ms per operation of each process involved. */
  cpuMsPerOp: Record<string, number | null>;
  /** Settings the figure depends on. */
  setup: string;
}

/** A counting window: loops run until `done`, and `mark()` counts only inside the window. */
class Window {
  private counting = false;
  done = false;
  count = 0;
  mark(n = 1): void {
    if (this.counting) this.count += n;
  }

  async run(warmupS: number, durationS: number, watched: Watched[]): Promise<CpuWindow> {
    await Bun.sleep(warmupS * 1000);
    const cpu = startCpuWindow(watched);
    this.counting = true;
    await Bun.sleep(durationS * 1000);
    this.counting = false;
    const window = cpu.stop();
    this.done = true;
    return window;
  }
}

function result(window: Window, cpu: CpuWindow, setup: string, opsPerCount = 1): CeilingResult {
  const ops = window.count * opsPerCount;
  const cpuMsPerOp = Object.fromEntries(
    Object.entries(cpu.cpuMs).map(([name, ms]) => [name, ms === null || ops === 0 ? null : Math.round((ms / ops) * 10_000) / 10_000]),
  );
  return { perS: Math.round((ops / (cpu.wallMs / 1000)) * 10) / 10, count: ops, windowS: Math.round(cpu.wallMs) / 1000, cpuMsPerOp, setup };
}

const BENCH_PROCESS: Watched = { name: "bench", pids: () => [process.pid] };

/** The pipeline's AI job options (docs/configuration.md: JOB_ATTEMPTS, JOB_BACKOFF_MS, JOB_REMOVE_ON_* defaults), so each job costs what one of its jobs costs. */
const JOB_OPTIONS = { attempts: 3, backoff: { type: "exponential" as const, delay: 2000 }, removeOnComplete: { age: 86_400 }, removeOnFail: { age: 604_800 } };

/** (a) One Queue and one Worker (empty processor) in this process; adds in bulk, keeping a bounded backlog. */
export async function bullmqCeiling(options: { redisUrl: string; durationS: number; concurrency?: number; redis: Watched[] }): Promise<CeilingResult> {
  const concurrency = options.concurrency ?? 50;
  const prefix = `benchceil${Date.now().toString(36)}`;
  const producerConnection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const workerConnection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue("ceiling", { connection: producerConnection, prefix });
  const window = new Window();
  let completed = 0;
  const worker = new Worker("ceiling", async () => undefined, { connection: workerConnection, prefix, concurrency });
  worker.on("completed", () => {
    completed++;
    window.mark();
  });
  let added = 0;
  const batch = Array.from({ length: 100 }, (_, i) => ({ name: "job", data: { i }, opts: JOB_OPTIONS }));
  const producer = (async () => {
    while (!window.done) {
      if (added - completed > 2000) await Bun.sleep(2);
      else added += (await queue.addBulk(batch)).length;
    }
  })();
  try {
    const cpu = await window.run(1, options.durationS, [...options.redis, BENCH_PROCESS]);
    return result(window, cpu, `addBulk of 100, backlog ≤ 2000, Worker concurrency ${concurrency}, one process`);
  } finally {
    window.done = true;
    await producer;
    await worker.close(true);
    await queue.close();
    producerConnection.disconnect();
    workerConnection.disconnect();
    await deleteKeys(prefix, options.redisUrl);
  }
}

/** (b) insertOne + updateOne({_id, status}) + findOne({_id}) loops with the mongodb driver, in a collection with the Asset model's indexes. */
export async function databaseCeiling(options: {
  mongoUrl: string;
  dialect: MongoDialect;
  durationS: number;
  concurrency?: number;
  database: Watched[];
}): Promise<CeilingResult> {
  const concurrency = options.concurrency ?? 8;
  const client = await new mongoose.mongo.MongoClient(options.mongoUrl).connect();
  const db = client.db();
  try {
    await ensureAssetIndexes(db, options.dialect);
    const assets = db.collection("assets");
    const userId = new mongoose.mongo.ObjectId();
    const window = new Window();
    const loops = Array.from({ length: concurrency }, async () => {
      while (!window.done) {
        const _id = new mongoose.mongo.ObjectId();
        const now = new Date();
        await assets.insertOne({
          _id,
          userId,
          category: "sneaker",
          status: "processing",
          images: { original: { url: "http://127.0.0.1/media/x.webp" } },
          processingJobId: _id.toHexString(),
          createdAt: now,
          updatedAt: now,
        });
        await assets.updateOne(
          { _id, status: "processing" },
          { $set: { status: "active", "images.processed.url": "http://127.0.0.1/media/y.png", updatedAt: new Date() } },
        );
        await assets.findOne({ _id });
        window.mark();
      }
    });
    try {
      const cpu = await window.run(1, options.durationS, [...options.database, BENCH_PROCESS]);
      return result(window, cpu, `${concurrency} loops of insert + conditional update + read by _id (3 ops each), from an empty collection`, 3);
    } finally {
      window.done = true;
      await Promise.all(loops);
    }
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}

/** (c) A bare Bun.serve (its own process) that reads and discards the upload, loaded by `clients` closed-loop clients. */
export async function uploadCeiling(options: { image: Uint8Array; durationS: number; clients?: number }): Promise<CeilingResult> {
  const clients = options.clients ?? 16;
  const port = await freePort();
  const server = Bun.spawn(["bun", join(import.meta.dir, "bare-upload-server.ts")], {
    env: { ...process.env, PORT: String(port) },
    stdout: "inherit",
    stderr: "inherit",
  });
  const killOnExit = () => server.kill("SIGKILL"); // an interrupted run must not leave it behind
  process.once("exit", killOnExit);
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/healthz`, 10_000, server);
    const window = new Window();
    let failures = 0;
    const load = closedLoop(
      clients,
      () => !window.done,
      async () => {
        const sent = await sendUpload(url, "unused", options.image);
        if (sent.status === 202) window.mark();
        else failures++;
      },
    );
    const cpu = await window.run(1, options.durationS, [{ name: "bun-serve", pids: () => [server.pid] }, BENCH_PROCESS]).finally(() => {
      window.done = true;
    });
    await load;
    if (failures) console.warn(`upload ceiling: ${failures} requests failed`);
    return result(window, cpu, `${clients} closed-loop clients, server in its own process`);
  } finally {
    await stopProcess(server, 2000);
    process.off("exit", killOnExit);
  }
}
