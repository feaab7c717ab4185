/**
 * Takes outcomes from BullMQ (each one by exactly one notifier replica) and
 * broadcasts them to the owner's room through the adapter, which reaches the
 * owner's sockets on every replica.
 */
import { ASSET_PROCESSED_EVENT, type Logger, OUTCOME_QUEUE, type OutcomeJob, outcomeJobSchema } from "@pipeline/contracts";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Counter } from "prom-client";
import type { Server } from "socket.io";
import { roomOf } from "./handshake.ts";

export function consumeOutcomes(options: { io: Server; connection: Redis; prefix: string; concurrency: number; logger: Logger; delivered: Counter }) {
  const worker = new Worker<OutcomeJob>(
    OUTCOME_QUEUE,
    async (job: Job<OutcomeJob>) => {
      const outcome = outcomeJobSchema.safeParse(job.data);
      if (!outcome.success) throw new UnrecoverableError(`invalid outcome: ${outcome.error.message}`);
      const { userId, payload } = outcome.data;
      options.io.to(roomOf(userId)).emit(ASSET_PROCESSED_EVENT, payload);
      options.delivered.inc({ status: payload.status });
      options.logger.info({ jobId: job.id, assetId: payload.assetId, userId, status: payload.status }, "asset_processed emitted");
    },
    { connection: options.connection, prefix: options.prefix, concurrency: options.concurrency, autorun: false },
  );
  worker.on("error", (error) => options.logger.warn({ err: error.message }, "outcome worker error"));
  return worker;
}
