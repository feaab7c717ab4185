/**
 * The one worker lifecycle of every queue (BullMQ's patterns for workers and
 * graceful shutdown): errors logged, the queue's lock, traced jobs, and a
 * close that stops taking jobs, lets those in hand finish, and at the grace
 * deadline aborts the rest so that they hand themselves back (`handBack`)
 * instead of being lost or counted as failures. BullMQ's `close()` waits
 * without a limit, hence the deadline.
 */
import type { PipelineQueue } from "@pipeline/contracts/admin";
import type { Logger } from "@pipeline/runtime/logger";
import type { RedisClient } from "@pipeline/runtime/redis";
import { tracedProcessor } from "@pipeline/runtime/tracing";
import { DelayedError, type Job, QueueEvents, Worker } from "bullmq";
import type { LockSettings } from "./queues.ts";

/** What a handler gets besides its job: the lock token (to hand the job back) and the shutdown signal. */
export interface JobContext {
  token: string | undefined;
  /** Fires at the grace deadline of a shutdown: an attempt still in flight should `handBack`. */
  shutdown: AbortSignal;
}

export type JobHandler<D, R> = (job: Job<D>, context: JobContext) => Promise<R>;

export interface QueueWorkerOptions {
  queue: PipelineQueue;
  connection: RedisClient;
  prefix: string;
  concurrency: number;
  lock: LockSettings;
  logger: Logger;
  /** Every failed attempt (BullMQ retries it unless it was the last or unrecoverable). */
  onFailed?: (job: Job | undefined, error: Error) => void;
  /**
   * A job that stalled too often (its workers kept dying) is failed inside Redis, never reaching its
   * handler; every replica hears of it here (so the handler must be idempotent).
   */
  onStalledOut?: (jobId: string) => Promise<void>;
}

export interface QueueWorker<D> {
  readonly worker: Worker<D>;
  start(): void;
  isRunning(): boolean;
  /** Stops taking jobs; jobs still in hand after `graceMs` are told to hand themselves back. */
  close(graceMs: number): Promise<void>;
}

export function createQueueWorker<D, R>(options: QueueWorkerOptions, handler: JobHandler<D, R>): QueueWorker<D> {
  const { queue, logger } = options;
  const shutdown = new AbortController();
  const worker = new Worker<D, R>(
    queue,
    tracedProcessor(queue, (job: Job<D>, token?: string) => handler(job, { token, shutdown: shutdown.signal })),
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lock.durationMs,
      ...(options.lock.stalledIntervalMs === undefined ? {} : { stalledInterval: options.lock.stalledIntervalMs }),
      ...(options.lock.maxStalledCount === undefined ? {} : { maxStalledCount: options.lock.maxStalledCount }),
      autorun: false,
    },
  );
  worker.on("error", (error) => logger.warn({ queue, err: error.message }, "worker error"));
  worker.on("failed", (job, error) => {
    logger.debug({ queue, jobId: job?.id, err: error.message }, "attempt failed");
    options.onFailed?.(job, error);
  });
  const stalledOut = options.onStalledOut ? watchStalledOut(options, options.onStalledOut) : undefined;

  return {
    worker,
    start() {
      void worker.run();
      stalledOut?.start();
    },
    isRunning: () => worker.isRunning(),
    async close(graceMs) {
      const closing = worker.close();
      const deadline = setTimeout(() => shutdown.abort(new Error(`${queue} worker shutting down`)), graceMs);
      await closing;
      clearTimeout(deadline);
      await stalledOut?.close();
    },
  };
}

/** Jobs failed by BullMQ's stall check, heard through the queue's events (on a connection of their own: XREAD blocks). */
function watchStalledOut(options: QueueWorkerOptions, onStalledOut: (jobId: string) => Promise<void>) {
  const { queue, logger } = options;
  const connection = options.connection.duplicate();
  // Its own listener: ioredis prints an "Unhandled error event" for each failed reconnect otherwise.
  connection.on("error", (error: Error) => logger.warn({ queue, err: error.message }, "queue events redis error"));
  const events = new QueueEvents(queue, { connection, prefix: options.prefix, autorun: false });
  events.on("failed", ({ jobId, failedReason }) => {
    if (!/stalled|started more than/i.test(failedReason)) return;
    onStalledOut(jobId).catch((err) => logger.error({ queue, jobId, err }, "could not finish a job that stalled out"));
  });
  events.on("error", (error) => logger.warn({ queue, err: error.message }, "queue events error"));
  return {
    start: () => void events.run(),
    async close() {
      await events.close();
      await connection.quit().catch(() => undefined);
    },
  };
}

/** Puts a job back in its queue without spending an attempt (at shutdown, or to try a step again later). */
export async function handBack(job: Job, token: string | undefined, delayMs = 0): Promise<never> {
  await job.moveToDelayed(Date.now() + delayMs, token);
  throw new DelayedError();
}
