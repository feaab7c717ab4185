/** Webhooks and deliveries as clients see them (through the contracts' shapes): no secret, dates as ISO strings. */
import type { DeliveryResponse, WebhookResponse } from "@pipeline/contracts/webhooks";
import type { DeliveryDoc, WebhookDoc } from "./repository.ts";

export function toWebhookResponse(doc: WebhookDoc): WebhookResponse {
  return {
    id: doc._id.toHexString(),
    url: doc.url,
    events: doc.events,
    enabled: doc.enabled,
    ...(doc.disabledReason ? { disabledReason: doc.disabledReason } : {}),
    ...(doc.failingSince ? { failingSince: doc.failingSince.toISOString() } : {}),
    createdAt: doc.createdAt.toISOString(),
  };
}

export function toDeliveryResponse(doc: DeliveryDoc): DeliveryResponse {
  return {
    id: doc._id,
    type: doc.type,
    status: doc.status,
    attempts: doc.attempts.map((attempt) => ({ ...attempt, at: attempt.at.toISOString() })),
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}
