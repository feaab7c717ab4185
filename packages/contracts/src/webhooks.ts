/**
 * Webhook contracts (Standard Webhooks): the event types, the
 * /api/webhooks request and response shapes, and the body of a delivery
 * `{type, timestamp, data}`, whose `data` is exactly the socket payload of the
 * client event it comes from.
 */
import { z } from "zod";
import { objectIdSchema } from "./asset.ts";
import { assetDeletedSchema, assetProcessedFailureSchema, assetProcessedSuccessSchema, type ClientEventJob } from "./events.ts";

export const WEBHOOK_EVENT_TYPES = ["asset.processed", "asset.failed", "asset.deleted"] as const;
export const webhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES);
export type WebhookEventType = z.infer<typeof webhookEventTypeSchema>;

/** The body of every delivery; `timestamp` is when the event happened (the same on every retry). */
export const webhookPayloadSchema = z
  .discriminatedUnion("type", [
    z.object({ type: z.literal("asset.processed"), timestamp: z.iso.datetime(), data: assetProcessedSuccessSchema }),
    z.object({ type: z.literal("asset.failed"), timestamp: z.iso.datetime(), data: assetProcessedFailureSchema }),
    z.object({ type: z.literal("asset.deleted"), timestamp: z.iso.datetime(), data: assetDeletedSchema }),
  ])
  .meta({ id: "WebhookPayload" });
export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A webhook event before it is dated: its type and its data. */
export type WebhookEvent = DistributiveOmit<WebhookPayload, "timestamp">;

/** The webhook event a client event becomes, or null for events webhooks do not carry (progress, sessions). */
export function webhookEventFor(job: ClientEventJob): WebhookEvent | null {
  if (job.event === "asset_processed") {
    return job.payload.status === "active" ? { type: "asset.processed", data: job.payload } : { type: "asset.failed", data: job.payload };
  }
  if (job.event === "asset_deleted") return { type: "asset.deleted", data: job.payload };
  return null;
}

/** Longest accepted target URL. */
export const WEBHOOK_URL_MAX_LENGTH = 2048;

export const createWebhookSchema = z
  .object({
    url: z
      .url({ protocol: /^https?$/, error: "must be an absolute https:// URL" })
      .max(WEBHOOK_URL_MAX_LENGTH)
      .meta({ description: "The receiver: HTTPS, on a public address", example: "https://example.com/hooks/collectibles" }),
    events: z.array(webhookEventTypeSchema).min(1).optional().meta({ description: "The event types to send (default: all of them)" }),
  })
  .meta({ id: "CreateWebhook" });
export type CreateWebhook = z.infer<typeof createWebhookSchema>;

/** What every answer about a webhook shows of it. */
const webhookIdentity = { id: objectIdSchema, url: z.string(), events: z.array(webhookEventTypeSchema) };

/** The answer to a registration: the only time the secret is shown. */
export const createdWebhookSchema = z
  .object({
    ...webhookIdentity,
    secret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]+=*$/)
      .meta({ description: "`whsec_` + base64 of 32 random bytes; verify signatures with it. Shown only now." }),
  })
  .meta({ id: "CreatedWebhook" });
export type CreatedWebhook = z.infer<typeof createdWebhookSchema>;

/** A webhook as listed (never with its secret). */
export const webhookSchema = z
  .object({
    ...webhookIdentity,
    enabled: z.boolean(),
    disabledReason: z.string().optional().meta({ description: "Why it was disabled (failing for too long)" }),
    failingSince: z.iso.datetime().optional().meta({ description: "Start of the current streak of failed attempts" }),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: "Webhook" });
export type WebhookResponse = z.infer<typeof webhookSchema>;

export const webhookListSchema = z.object({ items: z.array(webhookSchema) }).meta({ id: "WebhookList" });
export type WebhookList = z.infer<typeof webhookListSchema>;

export const DELIVERY_STATUSES = ["pending", "succeeded", "failed"] as const;
export const deliveryStatusSchema = z.enum(DELIVERY_STATUSES);
export type DeliveryStatus = z.infer<typeof deliveryStatusSchema>;

/** One try at delivering: the receiver's status (null when none came back) or what went wrong. */
export const deliveryAttemptSchema = z
  .object({
    at: z.iso.datetime(),
    statusCode: z.number().int().nullable(),
    error: z.string().nullable(),
    durationMs: z.number().int().min(0),
  })
  .meta({ id: "WebhookDeliveryAttempt" });
export type DeliveryAttempt = z.infer<typeof deliveryAttemptSchema>;

export const deliverySchema = z
  .object({
    id: z.string().meta({ description: "The `webhook-id` header of every attempt" }),
    type: webhookEventTypeSchema,
    status: deliveryStatusSchema,
    attempts: z.array(deliveryAttemptSchema),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: "WebhookDelivery" });
export type DeliveryResponse = z.infer<typeof deliverySchema>;

/** A webhook's most recent deliveries, newest first. */
export const deliveryListSchema = z.object({ items: z.array(deliverySchema) }).meta({ id: "WebhookDeliveryList" });
export type DeliveryList = z.infer<typeof deliveryListSchema>;
