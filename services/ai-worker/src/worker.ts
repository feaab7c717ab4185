/**
 * The BullMQ worker of `ai-processing`, with stall detection (a killed
 * replica's jobs are taken over) and a shutdown that finishes what it can and
 * hands back the rest.
 */
import { AI_QUEUE, type JobData, type Logger } from "@pipeline/contracts";
import { type Job, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { finalizeFailure, type ProcessAssetDeps, processAssetJob } from "./jobs/process-asset.ts";

export interface AiWorkerOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
}

export function createAiWorker(options: AiWorkerOptions, deps: Omit<ProcessAssetDeps, "shutdownSignal">) {
  const shutdown = new AbortController();
  const worker = new Worker<JobData>(AI_QUEUE, processAssetJob({ ...deps, shutdownSignal: shutdown.signal }), {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    maxStalledCount: options.maxStalledCount,
    autorun: false,
  });

  // Jobs that fail without reaching the handler's catch (stalled too often) still end `failed` with a reason.
  worker.on("failed", (job: Job<JobData> | undefined, error: Error) => {
    if (!job || !/stalled/i.test(error.message)) return;
    const log = deps.logger.child({ jobId: job.id });
    finalizeFailure(deps, job, `Processing stopped repeatedly (worker lost) after ${job.attemptsMade} attempts`, log).catch((err) =>
      log.error({ err }, "could not finalize stalled job"),
    );
  });
  worker.on("error", (error) => deps.logger.warn({ err: error.message }, "worker error"));

  return {
    worker,
    start: () => void worker.run(),
    /** Stop taking jobs; give in-flight ones `graceMs` to finish, then hand them back to the queue. */
    async close(graceMs: number) {
      const closing = worker.close();
      const handBack = setTimeout(() => shutdown.abort(new Error("worker shutting down")), graceMs);
      await closing;
      clearTimeout(handBack);
    },
  };
}
