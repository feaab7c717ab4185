/**
 * A typed client of the pipeline's public API (REST on the gateway, events on
 * the notifier). Browser- and Bun-safe: only fetch, FormData, zod and
 * socket.io-client. Every answer is checked against the contracts' schemas.
 */

export type {
  Accepted,
  AssetDeletedEvent,
  AssetPage,
  AssetPatch,
  AssetProcessedEvent,
  AssetProgressEvent,
  AssetResponse,
  AssetStatus,
  Category,
  ClientEventName,
  ClientEventPayload,
  CreatedWebhook,
  CreateWebhook,
  DeliveryResponse,
  WebhookEventType,
  WebhookResponse,
} from "@pipeline/contracts";
export {
  type Client,
  type ClientOptions,
  createClient,
  defaultNotifierUrl,
  type ListOptions,
  type SubscribeHandlers,
  type SubscribeOptions,
  type Subscription,
  type UploadOptions,
  type WebhooksClient,
} from "./client.ts";
export { ApiError } from "./errors.ts";
