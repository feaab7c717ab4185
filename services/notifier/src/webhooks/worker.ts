/**
 * The BullMQ worker of `webhook-deliveries`: `fan-out` jobs (one per event)
 * and `deliver` jobs (one per webhook and event), one handler per file. Any
 * notifier replica takes any job; a shutdown hands deliveries in flight back.
 */
import { WEBHOOK_QUEUE } from "@pipeline/contracts/webhooks";
import type { Logger } from "@pipeline/runtime/logger";
import type { RedisClient } from "@pipeline/runtime/redis";
import { type TargetPolicy, WebhookOwners, type WebhookRepository } from "@pipeline/webhooks";
import { type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import type { NotifierMetrics } from "../metrics.ts";
import { DELIVER_JOB, type DeliverySettings, deliverJob } from "./deliver.ts";
import { enqueueFanOut, FAN_OUT_JOB, fanOutJob } from "./fan-out.ts";

export interface WebhookWorkerOptions {
  connection: RedisClient;
  prefix: string;
  concurrency: number;
  repository: WebhookRepository;
  policy: TargetPolicy;
  delivery: DeliverySettings;
  timeoutMs: number;
  disableAfterMs: number;
  metrics: Pick<NotifierMetrics, "webhookDeliveries">;
  logger: Logger;
}

export function createWebhookWorker(options: WebhookWorkerOptions) {
  const shutdown = new AbortController();
  const queue = new Queue(WEBHOOK_QUEUE, { connection: options.connection, prefix: options.prefix });
  const { repository, logger } = options;
  const owners = new WebhookOwners(options.connection, options.prefix);
  const handlers: Record<string, (job: Job, token?: string) => Promise<unknown>> = {
    [FAN_OUT_JOB]: fanOutJob({ repository, owners, queue, delivery: options.delivery, logger }),
    [DELIVER_JOB]: deliverJob({
      repository,
      policy: options.policy,
      timeoutMs: options.timeoutMs,
      disableAfterMs: options.disableAfterMs,
      metrics: options.metrics,
      logger,
      shutdownSignal: shutdown.signal,
    }),
  };
  const worker = new Worker(
    WEBHOOK_QUEUE,
    (job, token) => {
      const handler = handlers[job.name];
      if (!handler) throw new UnrecoverableError(`unknown webhook job ${job.name}`);
      return handler(job, token);
    },
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      // An attempt lasts at most its timeout (plus DNS and bookkeeping): keep the lock well past it.
      lockDuration: options.timeoutMs + 30_000,
      autorun: false,
    },
  );
  worker.on("error", (error) => logger.warn({ err: error.message }, "webhook worker error"));
  // A last attempt that failed before it could record its end (MongoDB down, say) still ends its delivery failed.
  worker.on("failed", (job, error) => {
    if (!job || job.name !== DELIVER_JOB || job.attemptsMade < (job.opts.attempts ?? 1)) return;
    const deliveryId = (job.data as { deliveryId?: string }).deliveryId;
    if (deliveryId)
      repository
        .failDelivery(deliveryId)
        .catch((err) => logger.warn({ deliveryId, err: err.message, cause: error.message }, "could not mark a delivery failed"));
  });

  return {
    /** For the outcome consumer: queues the fan-out of an event. */
    onEmitted: enqueueFanOut(queue, owners),
    start: () => void worker.run(),
    isRunning: () => worker.isRunning(),
    /** Stops taking jobs; attempts still in flight after `graceMs` are handed back to the queue. */
    async close(graceMs: number) {
      const closing = worker.close();
      const handBack = setTimeout(() => shutdown.abort(new Error("notifier shutting down")), graceMs);
      await closing;
      clearTimeout(handBack);
      await queue.close();
    },
  };
}
