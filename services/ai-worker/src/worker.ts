/**
 * The BullMQ worker of `ai-processing`, with stall detection (a killed
 * replica's jobs are taken over) and a shutdown that finishes what it can and
 * hands back the rest.
 */
import { AI_QUEUE, type JobData } from "@pipeline/contracts/jobs";
import type { RedisClient } from "@pipeline/runtime/redis";
import { tracedProcessor } from "@pipeline/runtime/tracing";
import { Job, QueueEvents, Worker } from "bullmq";
import { finalizeFailure, type ProcessAssetDeps, processAssetJob } from "./jobs/process-asset.ts";

export interface AiWorkerOptions {
  connection: RedisClient;
  prefix: string;
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
}

export function createAiWorker(options: AiWorkerOptions, deps: Omit<ProcessAssetDeps, "shutdownSignal">) {
  const shutdown = new AbortController();
  const worker = new Worker<JobData>(AI_QUEUE, tracedProcessor(AI_QUEUE, processAssetJob({ ...deps, shutdownSignal: shutdown.signal })), {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    maxStalledCount: options.maxStalledCount,
    autorun: false,
  });

  worker.on("error", (error) => deps.logger.warn({ err: error.message }, "worker error"));

  // A job that stalls too often (its workers keep dying) is failed inside Redis, never reaching the
  // handler's catch; every replica hears of it, and finalizeFailure is idempotent.
  const eventsConnection = options.connection.duplicate();
  // Its own listener: ioredis prints an "Unhandled error event" for each failed reconnect otherwise.
  eventsConnection.on("error", (error: Error) => deps.logger.warn({ err: error.message }, "queue events redis error"));
  const events = new QueueEvents(AI_QUEUE, { connection: eventsConnection, prefix: options.prefix, autorun: false });
  events.on("failed", ({ jobId, failedReason }) => {
    if (!/stalled|started more than/i.test(failedReason)) return;
    const log = deps.logger.child({ jobId });
    Job.fromId<JobData>(worker, jobId)
      .then((job) => job && finalizeFailure(deps, job, "Processing was interrupted repeatedly (its worker stopped responding); gave up", log))
      .catch((err) => log.error({ err }, "could not finalize a stalled job"));
  });
  events.on("error", (error) => deps.logger.warn({ err: error.message }, "queue events error"));

  return {
    worker,
    start: () => {
      void worker.run();
      void events.run();
    },
    /** Stop taking jobs; give in-flight ones `graceMs` to finish, then hand them back to the queue. */
    async close(graceMs: number) {
      const closing = worker.close();
      const handBack = setTimeout(() => shutdown.abort(new Error("worker shutting down")), graceMs);
      await closing;
      clearTimeout(handBack);
      await events.close();
      await eventsConnection.quit().catch(() => undefined);
    },
  };
}
