/**
 * The `fan-out` job: one per client event that webhooks carry, queued by the
 * outcome consumer once the event is in the sockets' stream. It creates one
 * pending delivery per enabled webhook of the owner subscribed to the type,
 * and queues its `deliver` job. Ids are derived from the event's id, so a
 * repeated event or a retried fan-out makes no second delivery.
 */
import { objectIdSchema } from "@pipeline/contracts/asset";
import { describeZodError } from "@pipeline/contracts/errors";
import { webhookEventFor, webhookPayloadSchema } from "@pipeline/contracts/webhooks";
import {
  DELIVER_JOB,
  type DeliverySettings,
  deliveryIdFor,
  deliveryJobOptions,
  FAN_OUT_JOB,
  FAN_OUT_JOB_OPTIONS,
  fanOutJobIdFor,
  type QueuedEvent,
} from "@pipeline/messaging";
import type { Logger } from "@pipeline/runtime/logger";
import type { WebhookOwners, WebhookRepository } from "@pipeline/webhooks";
import { type Job, type Queue, UnrecoverableError } from "bullmq";
import { z } from "zod";
import type { DeliveryJob } from "./deliver.ts";

export const fanOutJobSchema = z.object({ userId: objectIdSchema, eventId: z.string().min(1), payload: webhookPayloadSchema });
export type FanOutJob = z.infer<typeof fanOutJobSchema>;

/**
 * The outcome consumer's `onEmitted`: queues one fan-out for an event that webhooks carry, unless its
 * owner certainly has no webhook (one SISMEMBER: most users have none).
 */
export function enqueueFanOut(queue: Pick<Queue, "add">, owners: Pick<WebhookOwners, "mayHave">) {
  return async (event: QueuedEvent): Promise<void> => {
    const webhookEvent = webhookEventFor(event);
    if (!webhookEvent || !(await owners.mayHave(event.userId))) return;
    // Dated with the event's own time, so every attempt sends the same body.
    const data: FanOutJob = {
      userId: event.userId,
      eventId: event.eventId,
      payload: { ...webhookEvent, timestamp: webhookEvent.data.timestamp } as FanOutJob["payload"],
    };
    await queue.add(FAN_OUT_JOB, data, { ...FAN_OUT_JOB_OPTIONS, jobId: fanOutJobIdFor(event.eventId) });
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
    const { userId, eventId, payload } = parsed.data;
    // Redis lost the owners' set: every event comes here until it is back.
    if (!(await deps.owners.known())) await deps.owners.rebuild(await deps.repository.ownerIds());
    const webhooks = await deps.repository.subscribed(userId, payload.type);
    const body = JSON.stringify(payload);
    const jobs: { name: string; data: DeliveryJob; opts: ReturnType<typeof deliveryJobOptions> & { jobId: string } }[] = [];
    for (const webhook of webhooks) {
      const webhookId = webhook._id.toHexString();
      const deliveryId = deliveryIdFor(eventId, webhookId);
      await deps.repository.createDelivery({ id: deliveryId, webhookId, userId, type: payload.type });
      jobs.push({ name: DELIVER_JOB, data: { deliveryId, webhookId, body }, opts: { ...deliveryJobOptions(deps.delivery), jobId: deliveryId } });
      deps.logger.debug({ deliveryId, webhookId, type: payload.type }, "webhook delivery queued");
    }
    if (jobs.length) await deps.queue.addBulk(jobs);
    return { deliveries: jobs.length };
  };
}
