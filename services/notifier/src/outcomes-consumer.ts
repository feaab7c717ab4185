/**
 * Takes outcomes from BullMQ (each one by exactly one notifier replica) and
 * broadcasts them to the owner's room through the adapter's stream, which
 * reaches the owner's sockets on every replica. A job completes only once its
 * event is in the stream; closing the worker (SIGTERM) lets the jobs in hand
 * finish and leaves the rest in the queue for another replica.
 */
import { ASSET_PROCESSED_EVENT, type Logger, OUTCOME_QUEUE, type OutcomeJob, outcomeJobSchema } from "@pipeline/contracts";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { roomOf } from "./handshake.ts";
import type { NotifierMetrics } from "./metrics.ts";
import type { RoomBroadcast } from "./stream-broadcast.ts";

export interface OutcomesConsumerOptions {
  broadcast: RoomBroadcast;
  connection: Redis;
  prefix: string;
  concurrency: number;
  logger: Logger;
  metrics: Pick<NotifierMetrics, "emitted" | "outcomeLag">;
}

export function consumeOutcomes(options: OutcomesConsumerOptions) {
  const worker = new Worker<OutcomeJob>(
    OUTCOME_QUEUE,
    async (job: Job<OutcomeJob>) => {
      const outcome = outcomeJobSchema.safeParse(job.data);
      if (!outcome.success) throw new UnrecoverableError(`invalid outcome: ${outcome.error.message}`);
      const { userId, payload } = outcome.data;
      const offset = await options.broadcast(roomOf(userId), ASSET_PROCESSED_EVENT, payload);
      options.metrics.emitted.inc({ status: payload.status });
      options.metrics.outcomeLag.observe(Math.max(0, Date.now() - job.timestamp) / 1000);
      options.logger.info({ jobId: job.id, assetId: payload.assetId, userId, status: payload.status, offset }, "asset_processed emitted");
    },
    { connection: options.connection, prefix: options.prefix, concurrency: options.concurrency, autorun: false },
  );
  worker.on("error", (error) => options.logger.warn({ err: error.message }, "outcome worker error"));
  worker.on("failed", (job, error) => options.logger.warn({ jobId: job?.id, err: error.message }, "outcome job failed (retried unless invalid or out of attempts)"));
  return worker;
}
