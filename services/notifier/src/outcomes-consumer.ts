/**
 * Takes client events (outcomes) from BullMQ (each one by exactly one notifier replica) and
 * broadcasts them to the owner's room through the adapter's stream, which
 * reaches the owner's sockets on every replica. A job completes only once its
 * event is in the stream (and handed to `onEmitted`, the webhooks); closing the
 * worker (SIGTERM) lets the jobs in hand finish and leaves the rest in the
 * queue for another replica. An event about a deleted Asset is dropped.
 */
import { describeZodError } from "@pipeline/contracts/errors";
import { type ClientEventJob, clientEventJobSchema } from "@pipeline/contracts/events";
import { aiJobIdOfOutcome, OUTCOME_QUEUE } from "@pipeline/contracts/jobs";
import type { Logger } from "@pipeline/runtime/logger";
import type { RedisClient } from "@pipeline/runtime/redis";
import type { SocketStreamEmitter } from "@pipeline/runtime/socket-stream";
import { tracedProcessor } from "@pipeline/runtime/tracing";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { NotifierMetrics } from "./metrics.ts";

export interface OutcomesConsumerOptions {
  emitter: Pick<SocketStreamEmitter, "write">;
  /** Called once an event is in the stream (not for dropped ones); a rejection retries the job, so it must be idempotent. */
  onEmitted?: (event: ClientEventJob, outcomeJobId: string) => Promise<void>;
  connection: RedisClient;
  prefix: string;
  concurrency: number;
  /** How long a replica holds an outcome before another may take it over (it died): the delay a crash adds. */
  lockMs: number;
  logger: Logger;
  metrics: Pick<NotifierMetrics, "emitted" | "dropped" | "processed" | "outcomeLag">;
}

export function consumeOutcomes(options: OutcomesConsumerOptions) {
  const worker = new Worker<ClientEventJob>(
    OUTCOME_QUEUE,
    tracedProcessor(OUTCOME_QUEUE, async (job: Job<ClientEventJob>) => {
      const parsed = clientEventJobSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`invalid client event: ${describeZodError(parsed.error)}`);
      const { userId, event } = parsed.data;
      // An outcome's final event marks its run finished, so a late progress report of that run is dropped.
      const offset = await options.emitter.write(parsed.data, aiJobIdOfOutcome(job.id as string));
      if (offset === null) {
        options.metrics.dropped.inc({ event });
        options.logger.info({ jobId: job.id, userId, event }, "client event about a deleted asset dropped");
        return;
      }
      await options.onEmitted?.(parsed.data, job.id as string);
      options.metrics.emitted.inc({ event });
      if (parsed.data.event === "asset_processed") options.metrics.processed.inc({ status: parsed.data.payload.status });
      options.metrics.outcomeLag.observe(Math.max(0, Date.now() - job.timestamp) / 1000);
      options.logger.debug({ jobId: job.id, userId, event, offset }, "client event emitted");
    }),
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      // An outcome takes milliseconds: a short lock lets a dead replica's outcomes be taken over within
      // seconds, and an outcome is never failed for stalling (a possible duplicate beats a lost event).
      lockDuration: options.lockMs,
      stalledInterval: options.lockMs,
      maxStalledCount: 1000,
      autorun: false,
    },
  );
  worker.on("error", (error) => options.logger.warn({ err: error.message }, "outcome worker error"));
  worker.on("failed", (job, error) =>
    options.logger.warn({ jobId: job?.id, err: error.message }, "outcome job failed (retried unless invalid or out of attempts)"),
  );
  return worker;
}
