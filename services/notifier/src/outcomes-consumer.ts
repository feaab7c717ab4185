/**
 * Takes final client events (outcomes, deletions) from `asset-outcomes`, each
 * by one notifier replica, and writes them to the sockets' stream, which
 * reaches the owner's sockets on every replica. The write is idempotent by the
 * event's id, checked in the same Redis call: an event retried, or taken over
 * from a replica that died after writing it, reaches each socket once. The
 * job completes only once its event is in the stream and handed to
 * `onEmitted` (the webhooks' fan-out, idempotent by the same id). An event
 * about a deleted Asset is dropped.
 */
import { describeZodError } from "@pipeline/contracts/errors";
import {
  createQueueWorker,
  type LockSettings,
  OUTCOME_QUEUE,
  type QueuedEvent,
  type QueueWorker,
  queuedEventSchema,
  type SocketStreamWriter,
} from "@pipeline/messaging";
import type { Logger } from "@pipeline/runtime/logger";
import type { RedisClient } from "@pipeline/runtime/redis";
import { type Job, UnrecoverableError } from "bullmq";
import type { NotifierMetrics } from "./metrics.ts";

export interface OutcomesConsumerOptions {
  stream: Pick<SocketStreamWriter, "write">;
  /** Called once an event is in the stream (not for dropped ones); a rejection retries the job, so it must be idempotent. */
  onEmitted?: (event: QueuedEvent) => Promise<void>;
  connection: RedisClient;
  prefix: string;
  concurrency: number;
  lock: LockSettings;
  logger: Logger;
  metrics: Pick<NotifierMetrics, "emitted" | "dropped" | "duplicates" | "processed" | "outcomeLag">;
}

export function consumeOutcomes(options: OutcomesConsumerOptions): QueueWorker<QueuedEvent> {
  const { logger, metrics } = options;
  return createQueueWorker<QueuedEvent, void>(
    {
      queue: OUTCOME_QUEUE,
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      lock: options.lock,
      logger,
      onFailed: (job, error) => logger.warn({ jobId: job?.id, err: error.message }, "outcome job failed (retried unless invalid or out of attempts)"),
    },
    async (job: Job<QueuedEvent>) => {
      const parsed = queuedEventSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`invalid client event: ${describeZodError(parsed.error)}`);
      const event = parsed.data;
      const log = logger.child({ jobId: job.id, eventId: event.eventId, userId: event.userId, event: event.event });
      const written = await options.stream.write(event, { final: event.eventId });
      if (written.status === "dropped") {
        metrics.dropped.inc({ event: event.event });
        log.info("client event about a deleted asset dropped");
        return;
      }
      // A duplicate was written by an earlier attempt that did not finish: its fan-out may not have happened.
      await options.onEmitted?.(event);
      if (written.status === "duplicate") {
        metrics.duplicates.inc({ event: event.event });
        log.info({ offset: written.offset }, "client event already in the stream; not written again");
        return;
      }
      metrics.emitted.inc({ event: event.event });
      if (event.event === "asset_processed") metrics.processed.inc({ status: event.payload.status });
      metrics.outcomeLag.observe(Math.max(0, Date.now() - job.timestamp) / 1000);
      log.debug({ offset: written.offset }, "client event emitted");
    },
  );
}
