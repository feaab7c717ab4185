/**
 * The `deliver` job: one attempt at one delivery. It loads the webhook, checks
 * and signs, POSTs, records the attempt, and keeps the webhook's failure
 * streak: a webhook failing for WEBHOOK_DISABLE_AFTER_MS is disabled. A
 * failed attempt throws so BullMQ retries it with backoff; after the last one
 * the delivery is `failed`. A deleted or disabled webhook's delivery ends
 * `failed` at once (UnrecoverableError: no more attempts).
 */
import { objectIdSchema } from "@pipeline/contracts/asset";
import { describeZodError } from "@pipeline/contracts/errors";
import { handBack, type JobContext } from "@pipeline/messaging";
import type { Logger } from "@pipeline/runtime/logger";
import { type AttemptResult, sendAttempt, type TargetPolicy, type WebhookDoc, type WebhookRepository } from "@pipeline/webhooks";
import { type Job, UnrecoverableError } from "bullmq";
import { z } from "zod";
import type { NotifierMetrics } from "../metrics.ts";

export const deliveryJobSchema = z.object({
  /** `msg_…`: the delivery record's id, the `webhook-id` header, and the job id. */
  deliveryId: z.string().regex(/^msg_[0-9a-f]+$/),
  webhookId: objectIdSchema,
  /** The JSON body, serialised once so every attempt sends (and signs) the same bytes. */
  body: z.string().min(2),
});
export type DeliveryJob = z.infer<typeof deliveryJobSchema>;

export interface DeliverDeps {
  repository: Pick<WebhookRepository, "findById" | "recordAttempt" | "failDelivery" | "markFailing" | "clearFailing" | "disable">;
  policy: TargetPolicy;
  timeoutMs: number;
  disableAfterMs: number;
  metrics: Pick<NotifierMetrics, "webhookDeliveries">;
  logger: Logger;
}

export function deliverJob(deps: DeliverDeps) {
  // `shutdown` fires at the worker's grace deadline: an attempt in flight is handed back without counting.
  return async function deliver(job: Job, { token, shutdown }: JobContext): Promise<{ statusCode: number | null }> {
    const parsed = deliveryJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid delivery job: ${describeZodError(parsed.error)}`);
    const { deliveryId, webhookId, body } = parsed.data;
    const attempt = job.attemptsMade + 1;
    const isLast = attempt >= (job.opts.attempts ?? 1);
    const log = deps.logger.child({ deliveryId, webhookId, attempt });

    const webhook = await deps.repository.findById(webhookId);
    if (!webhook?.enabled) {
      const reason = webhook ? "webhook is disabled" : "webhook was deleted";
      await deps.repository.failDelivery(deliveryId);
      deps.metrics.webhookDeliveries.inc({ outcome: "failed" });
      log.info({ reason }, "webhook delivery ended without an attempt");
      throw new UnrecoverableError(reason);
    }

    let result: AttemptResult;
    try {
      result = await sendAttempt(
        { url: webhook.url, deliveryId, body, secret: webhook.secret },
        { policy: deps.policy, timeoutMs: deps.timeoutMs, signal: shutdown },
      );
    } catch (error) {
      if (!shutdown.aborted || !token) throw error;
      return handBack(job, token);
    }
    const record = { at: result.at, statusCode: result.statusCode, error: result.error, durationMs: result.durationMs };

    if (result.ok) {
      await deps.repository.recordAttempt(deliveryId, record, "succeeded");
      await deps.repository.clearFailing(webhook._id);
      deps.metrics.webhookDeliveries.inc({ outcome: "succeeded" });
      log.info({ statusCode: result.statusCode, durationMs: result.durationMs }, "webhook delivered");
      return { statusCode: result.statusCode };
    }

    const disabledReason = await noteFailure(deps, webhook, result);
    const final = isLast || disabledReason !== null;
    await deps.repository.recordAttempt(deliveryId, record, final ? "failed" : "pending");
    deps.metrics.webhookDeliveries.inc({ outcome: final ? "failed" : "retried" });
    log.warn(
      { statusCode: result.statusCode, err: result.error, final, disabledReason },
      final ? "webhook delivery failed" : "webhook attempt failed; will retry",
    );
    if (disabledReason) throw new UnrecoverableError(`webhook disabled: ${disabledReason}`);
    throw new Error(result.error ?? "delivery failed");
  };
}

/** Starts the webhook's failure streak, or disables it once the streak is long enough; returns why it was disabled. */
async function noteFailure(deps: DeliverDeps, webhook: WebhookDoc, result: AttemptResult): Promise<string | null> {
  if (!webhook.failingSince) {
    await deps.repository.markFailing(webhook._id, result.at);
    return null;
  }
  if (result.at.getTime() - webhook.failingSince.getTime() < deps.disableAfterMs) return null;
  const reason = `every attempt failed since ${webhook.failingSince.toISOString()} (last: ${result.error})`;
  await deps.repository.disable(webhook._id, reason);
  deps.logger.warn({ webhookId: webhook._id.toHexString(), reason }, "webhook disabled");
  return reason;
}
