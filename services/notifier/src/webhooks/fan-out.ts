/**
 * The `fan-out` job: one per client event that webhooks carry, queued by the
 * outcome consumer once the event is in the sockets' stream. It creates one
 * pending delivery per enabled webhook of the owner subscribed to the type,
 * and queues its `deliver` job. Ids are derived from the outcome job id, so a
 * repeated outcome or a retried fan-out makes no second delivery.
 */
import { createHash } from "node:crypto";
import { objectIdSchema } from "@pipeline/contracts/asset";
import { describeZodError } from "@pipeline/contracts/errors";
import type { ClientEventJob } from "@pipeline/contracts/events";
import { webhookEventFor, webhookPayloadSchema } from "@pipeline/contracts/webhooks";
import type { Logger } from "@pipeline/runtime/logger";
import type { WebhookOwners, WebhookRepository } from "@pipeline/webhooks";
import { type Job, type Queue, UnrecoverableError } from "bullmq";
import { z } from "zod";
import { DELIVER_JOB, type DeliveryJob, type DeliverySettings, deliveryJobOptions } from "./deliver.ts";

export const FAN_OUT_JOB = "fan-out";

export const fanOutJobSchema = z.object({ userId: objectIdSchema, outcomeJobId: z.string().min(1), payload: webhookPayloadSchema });
export type FanOutJob = z.infer<typeof fanOutJobSchema>;

/** Fan-outs retry for a while (MongoDB may be down) and are kept a day so a repeated outcome is dropped as a duplicate. */
const FAN_OUT_JOB_OPTIONS = {
  attempts: 10,
  backoff: { type: "exponential" as const, delay: 1000 },
  removeOnComplete: { age: 86_400 },
  removeOnFail: { age: 604_800 },
};

/** The fan-out job id of an outcome. BullMQ custom ids may not contain ':', so it is escaped (reversibly, so ids stay distinct). */
export const fanOutJobIdFor = (outcomeJobId: string) => `fanout-${outcomeJobId.replaceAll("%", "%25").replaceAll(":", "%3A")}`;

/** The delivery id (`webhook-id`) of an outcome for a webhook: the same however often it is computed. */
export const deliveryIdFor = (outcomeJobId: string, webhookId: string) =>
  `msg_${createHash("sha256").update(`${outcomeJobId}\n${webhookId}`).digest("hex").slice(0, 32)}`;

/**
 * The outcome consumer's `onEmitted`: queues one fan-out for an event that webhooks carry, unless its
 * owner certainly has no webhook (one SISMEMBER: most users have none).
 */
export function enqueueFanOut(queue: Pick<Queue, "add">, owners: Pick<WebhookOwners, "mayHave">) {
  return async (event: ClientEventJob, outcomeJobId: string): Promise<void> => {
    const webhookEvent = webhookEventFor(event);
    if (!webhookEvent || !(await owners.mayHave(event.userId))) return;
    // Dated with the event's own time, so every attempt sends the same body.
    const data: FanOutJob = {
      userId: event.userId,
      outcomeJobId,
      payload: { ...webhookEvent, timestamp: webhookEvent.data.timestamp } as FanOutJob["payload"],
    };
    await queue.add(FAN_OUT_JOB, data, { ...FAN_OUT_JOB_OPTIONS, jobId: fanOutJobIdFor(outcomeJobId) });
  };
}

export interface FanOutDeps {
  repository: Pick<WebhookRepository, "subscribed" | "createDelivery" | "ownerIds">;
  owners: Pick<WebhookOwners, "known" | "rebuild">;
  queue: Pick<Queue, "addBulk">;
  delivery: DeliverySettings;
  logger: Logger;
}

export function fanOutJob(deps: FanOutDeps) {
  return async function fanOut(job: Job): Promise<{ deliveries: number }> {
    const parsed = fanOutJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid fan-out job: ${describeZodError(parsed.error)}`);
    const { userId, outcomeJobId, payload } = parsed.data;
    // Redis lost the owners' set: every event comes here until it is back.
    if (!(await deps.owners.known())) await deps.owners.rebuild(await deps.repository.ownerIds());
    const webhooks = await deps.repository.subscribed(userId, payload.type);
    const body = JSON.stringify(payload);
    const jobs: { name: string; data: DeliveryJob; opts: ReturnType<typeof deliveryJobOptions> & { jobId: string } }[] = [];
    for (const webhook of webhooks) {
      const webhookId = webhook._id.toHexString();
      const deliveryId = deliveryIdFor(outcomeJobId, webhookId);
      await deps.repository.createDelivery({ id: deliveryId, webhookId, userId, type: payload.type });
      jobs.push({ name: DELIVER_JOB, data: { deliveryId, webhookId, body }, opts: { ...deliveryJobOptions(deps.delivery), jobId: deliveryId } });
      deps.logger.debug({ deliveryId, webhookId, type: payload.type }, "webhook delivery queued");
    }
    if (jobs.length) await deps.queue.addBulk(jobs);
    return { deliveries: jobs.length };
  };
}
