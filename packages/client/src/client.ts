/**
 * The typed API client: one method per route of the public API, on top of the
 * session (token and checked requests, session.ts) and the socket
 * subscription (socket.ts, with its delivered-outcomes state in delivered.ts).
 */
import {
  type Accepted,
  type AssetPage,
  type AssetPatch,
  type AssetResponse,
  type AssetStatus,
  acceptedSchema,
  assetPageSchema,
  assetResponseSchema,
  type Category,
  type CreatedWebhook,
  type CreateWebhook,
  createdWebhookSchema,
  type DeliveryResponse,
  deliveryListSchema,
  type ReanalysisAccepted,
  reanalysisAcceptedSchema,
  type WebhookResponse,
  webhookListSchema,
} from "@pipeline/contracts";
import { createSession, noContentSchema, type TokenSource } from "./session.ts";
import { type SubscribeHandlers, type SubscribeOptions, type Subscription, subscribe } from "./socket.ts";

export type { SubscribeHandlers, SubscribeOptions, Subscription } from "./socket.ts";

export interface ClientOptions {
  /** The gateway, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** A JWT, or a function giving the current one (read at every request and socket (re)connection). */
  token: TokenSource;
  /** The notifier; default: `baseUrl` with port 3002 when it is on port 3000, else `baseUrl`. */
  notifierUrl?: string;
}

export interface UploadOptions {
  category: Category;
  filename?: string;
  /** Sent as `Idempotency-Key`, so that retrying an upload whose answer was lost does not create a second Asset. */
  idempotencyKey?: string;
}

export interface ListOptions {
  status?: AssetStatus;
  /** Page size, 1–100 (the API's default is 20). */
  limit?: number;
  /** ISO time: only Assets changed since then. */
  updatedSince?: string;
  /** Start from this cursor (a previous page's `nextCursor`). */
  cursor?: string;
}

export interface WebhooksClient {
  /** Registers an endpoint; the answer carries the secret that signs its deliveries. */
  create(webhook: CreateWebhook): Promise<CreatedWebhook>;
  list(): Promise<WebhookResponse[]>;
  delete(webhookId: string): Promise<void>;
  /** The endpoint's most recent deliveries, newest first, each with its attempts. */
  deliveries(webhookId: string): Promise<DeliveryResponse[]>;
}

export interface Client {
  readonly baseUrl: string;
  readonly notifierUrl: string;
  upload(image: Blob | Uint8Array, options: UploadOptions): Promise<Accepted>;
  get(assetId: string): Promise<AssetResponse>;
  list(options?: ListOptions): AsyncIterableIterator<AssetPage>;
  retry(assetId: string): Promise<Accepted>;
  /** Analyses an active or failed Asset again; an active one keeps its results until `asset_processed` brings the new ones. */
  reanalyze(assetId: string): Promise<ReanalysisAccepted>;
  /** Deletes the Asset and its images. */
  delete(assetId: string): Promise<void>;
  /** Archives an active Asset, or brings an archived one back; answers the updated Asset. */
  setStatus(assetId: string, status: AssetPatch["status"]): Promise<AssetResponse>;
  readonly webhooks: WebhooksClient;
  subscribe(handlers: SubscribeHandlers, options?: SubscribeOptions): Subscription;
}

/** The notifier next to a gateway: port 3002 when the gateway is on 3000, else the gateway's own origin. */
export function defaultNotifierUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  if (url.port === "3000") url.port = "3002";
  return url.origin;
}

export function createClient(options: ClientOptions): Client {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  new URL(baseUrl); // throws early on a malformed URL
  const notifierUrl = options.notifierUrl ?? defaultNotifierUrl(baseUrl);
  const session = createSession(baseUrl, options.token);
  const { request } = session;

  async function* list(listOptions: ListOptions = {}): AsyncIterableIterator<AssetPage> {
    let cursor = listOptions.cursor;
    do {
      const query = new URLSearchParams();
      if (listOptions.status) query.set("status", listOptions.status);
      if (listOptions.limit !== undefined) query.set("limit", String(listOptions.limit));
      if (listOptions.updatedSince) query.set("updatedSince", listOptions.updatedSince);
      if (cursor) query.set("cursor", cursor);
      const qs = query.toString();
      const page = await request("GET", `/api/assets${qs ? `?${qs}` : ""}`, assetPageSchema);
      yield page;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  return {
    baseUrl,
    notifierUrl,
    upload(image, uploadOptions) {
      const form = new FormData();
      const blob = image instanceof Blob ? image : new Blob([image as BlobPart], { type: sniffImageType(image) });
      form.append("image", blob, uploadOptions.filename ?? (image instanceof File ? image.name : "image"));
      form.append("category", uploadOptions.category);
      const headers: Record<string, string> = uploadOptions.idempotencyKey === undefined ? {} : { "idempotency-key": uploadOptions.idempotencyKey };
      return request("POST", "/api/assets/analyze-queue", acceptedSchema, { form, headers });
    },
    get: (assetId) => request("GET", assetPath(assetId), assetResponseSchema),
    list,
    retry: (assetId) => request("POST", `${assetPath(assetId)}/retry`, acceptedSchema),
    reanalyze: (assetId) => request("POST", `${assetPath(assetId)}/reanalyze`, reanalysisAcceptedSchema),
    delete: (assetId) => request("DELETE", assetPath(assetId), noContentSchema),
    setStatus: (assetId, status) => request("PATCH", assetPath(assetId), assetResponseSchema, { json: { status } satisfies AssetPatch }),
    webhooks: {
      create: (webhook) => request("POST", "/api/webhooks", createdWebhookSchema, { json: webhook }),
      list: async () => (await request("GET", "/api/webhooks", webhookListSchema)).items,
      delete: (webhookId) => request("DELETE", webhookPath(webhookId), noContentSchema),
      deliveries: async (webhookId) => (await request("GET", `${webhookPath(webhookId)}/deliveries`, deliveryListSchema)).items,
    },
    subscribe: (handlers, subscribeOptions) =>
      subscribe({ notifierUrl, session, token: options.token, changedSince: (since) => list({ updatedSince: since, limit: 100 }) }, handlers, subscribeOptions),
  };
}

const assetPath = (assetId: string) => `/api/assets/${encodeURIComponent(assetId)}`;
const webhookPath = (webhookId: string) => `/api/webhooks/${encodeURIComponent(webhookId)}`;

/** The declared type of raw bytes (the server checks the content itself). */
function sniffImageType(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return "image/jpeg";
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return "image/png";
  if (bytes[8] === 0x57 && bytes[9] === 0x45 && bytes[10] === 0x42 && bytes[11] === 0x50) return "image/webp";
  return "application/octet-stream";
}
