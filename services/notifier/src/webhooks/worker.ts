/**
 * The worker of `webhook-deliveries`: `fan-out` jobs (one per event) and
 * `deliver` jobs (one per webhook and event), one handler per file, on the
 * shared worker lifecycle (messaging's createQueueWorker). Any notifier
 * replica takes any job; a shutdown hands deliveries in flight back.
 */
import {
  createQueueWorker,
  DELIVER_JOB,
  type DeliverySettings,
  FAN_OUT_JOB,
  type JobHandler,
  openQueue,
  WEBHOOK_QUEUE,
  webhookLock,
} from "@pipeline/messaging";
import type { Logger } from "@pipeline/runtime/logger";
import type { RedisClient } from "@pipeline/runtime/redis";
import { type TargetPolicy, WebhookOwners, type WebhookRepository } from "@pipeline/webhooks";
import { UnrecoverableError } from "bullmq";
import type { NotifierMetrics } from "../metrics.ts";
import { deliverJob } from "./deliver.ts";
import { enqueueFanOut, fanOutJob } from "./fan-out.ts";

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
  const queue = openQueue(WEBHOOK_QUEUE, options.connection, options.prefix);
  const { repository, logger } = options;
  const owners = new WebhookOwners(options.connection, options.prefix);
  const { timeoutMs, disableAfterMs, policy, metrics } = options;
  const handlers: Record<string, JobHandler<unknown, unknown>> = {
    [FAN_OUT_JOB]: fanOutJob({ repository, owners, queue, delivery: options.delivery, logger }),
    [DELIVER_JOB]: deliverJob({ repository, policy, timeoutMs, disableAfterMs, metrics, logger }),
  };
  const webhooks = createQueueWorker(
    {
      queue: WEBHOOK_QUEUE,
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      lock: webhookLock(timeoutMs),
      logger,
      // A last attempt that failed before it could record its end (MongoDB down, say) still ends its delivery failed.
      onFailed: (job, error) => {
        if (!job || job.name !== DELIVER_JOB || job.attemptsMade < (job.opts.attempts ?? 1)) return;
        const deliveryId = (job.data as { deliveryId?: string }).deliveryId;
        if (deliveryId)
          repository
            .failDelivery(deliveryId)
            .catch((err) => logger.warn({ deliveryId, err: err.message, cause: error.message }, "could not mark a delivery failed"));
      },
    },
    (job, context) => {
      const handler = handlers[job.name];
      if (!handler) throw new UnrecoverableError(`unknown webhook job ${job.name}`);
      return handler(job, context);
    },
  );

  return {
    /** For the outcome consumer: queues the fan-out of an event. */
    onEmitted: enqueueFanOut(queue, owners),
    start: () => webhooks.start(),
    isRunning: () => webhooks.isRunning(),
    /** Stops taking jobs; attempts still in flight after `graceMs` are handed back to the queue. */
    async close(graceMs: number) {
      await webhooks.close(graceMs);
      await queue.close();
    },
  };
}
