import {
  type Accepted,
  type AssetPage,
  type AssetPatch,
  type AssetProcessedEvent,
  type AssetResponse,
  type AssetStatus,
  acceptedSchema,
  assetPageSchema,
  assetResponseSchema,
  type Category,
  CLIENT_EVENTS,
  type ClientEventName,
  type ClientEventPayload,
  type CreatedWebhook,
  type CreateWebhook,
  clientEventMap,
  createdWebhookSchema,
  type DeliveryResponse,
  deliveryListSchema,
  describeZodError,
  errorBodySchema,
  type ServerToClientEvents,
  type WebhookResponse,
  webhookListSchema,
} from "@pipeline/contracts";
import { io, type Socket } from "socket.io-client";
import { z } from "zod";
import { ApiError } from "./errors.ts";

export interface ClientOptions {
  /** The gateway, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** A JWT, or a function giving the current one (read at every request and socket (re)connection). */
  token: string | (() => string | Promise<string>);
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

type EventHandlers = { [E in ClientEventName]?: (payload: ClientEventPayload<E>) => void };

export interface SubscribeHandlers extends EventHandlers {
  /** Finished (active or failed) Assets found by a catch-up after a connect, never ones already delivered. */
  onCatchUp?: (assets: AssetResponse[]) => void;
  /** Each connect; `recovered` when the server resumed the session and replayed what was missed. */
  onConnect?: (info: { recovered: boolean }) => void;
  onDisconnect?: (reason: string) => void;
  /** A refused connection, a failed catch-up, or an event that does not match its contract. */
  onError?: (error: Error) => void;
}

export interface SubscribeOptions {
  /** ISO time to catch up from on the first connect (default: now). */
  since?: string;
  /** Socket.IO transports (default: websocket, then polling). */
  transports?: ("websocket" | "polling")[];
  /** Delay before each reconnection attempt, ms (default 1000). */
  reconnectionDelay?: number;
}

export interface Subscription {
  /** The underlying socket (for tests and advanced use). */
  readonly socket: Socket<ServerToClientEvents>;
  close(): void;
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
  /** Deletes the Asset and its images. */
  delete(assetId: string): Promise<void>;
  /** Archives an active Asset, or brings an archived one back; answers the updated Asset. */
  setStatus(assetId: string, status: AssetPatch["status"]): Promise<AssetResponse>;
  readonly webhooks: WebhooksClient;
  subscribe(handlers: SubscribeHandlers, options?: SubscribeOptions): Subscription;
}

/** What a request sends besides the token: a multipart form or a JSON value, and extra headers. */
interface RequestBody {
  form?: FormData;
  json?: unknown;
  headers?: Record<string, string>;
}

/** 204 answers have no body to check. */
const noContentSchema = z.unknown().transform((): void => undefined);

/** The notifier next to a gateway: port 3002 when the gateway is on 3000, else the gateway's own origin. */
export function defaultNotifierUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  if (url.port === "3000") url.port = "3002";
  return url.origin;
}

const FINISHED: ReadonlySet<string> = new Set(["active", "failed"]);

/** One key per outcome: the event's `timestamp` is the Asset's `aiMetadata.processedAt` (else `updatedAt`). */
const outcomeKey = (assetId: string, status: string, at: string) => `${assetId}:${status}:${at}`;

export function createClient(options: ClientOptions): Client {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  new URL(baseUrl); // throws early on a malformed URL
  const notifierUrl = options.notifierUrl ?? defaultNotifierUrl(baseUrl);
  const currentToken = async () => (typeof options.token === "function" ? await options.token() : options.token);

  async function request<T extends z.ZodType>(method: string, path: string, schema: T, body: RequestBody = {}): Promise<z.output<T>> {
    const url = `${baseUrl}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        body: body.form ?? (body.json === undefined ? undefined : JSON.stringify(body.json)),
        headers: {
          ...body.headers,
          ...(body.json === undefined ? {} : { "content-type": "application/json" }),
          authorization: `Bearer ${await currentToken()}`,
          accept: "application/json",
        },
      });
    } catch (error) {
      const reason = (error as { code?: unknown })?.code ?? (error instanceof Error ? error.message : String(error));
      throw new ApiError(0, "unreachable", `cannot reach the gateway at ${url} (${String(reason)})`);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const parsed = errorBodySchema.safeParse(json);
      if (parsed.success) throw new ApiError(response.status, parsed.data.error.code, parsed.data.error.message);
      throw new ApiError(response.status, "http_error", `${method} ${url} answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ""}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ApiError(response.status, "invalid_response", `${method} ${url} answered an unexpected body: ${describeZodError(parsed.error)}`);
    }
    return parsed.data;
  }

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

  function subscribe(handlers: SubscribeHandlers, subscribeOptions: SubscribeOptions = {}): Subscription {
    let since = subscribeOptions.since ?? new Date().toISOString();
    let closed = false;
    /** Outcomes already handed over (live or caught up), so none is delivered twice. */
    const delivered = new Set<string>();
    const fail = (error: unknown) => handlers.onError?.(error instanceof Error ? error : new Error(String(error)));

    const socket: Socket<ServerToClientEvents> = io(notifierUrl, {
      auth: (send) => {
        currentToken().then(
          (token) => send({ token }),
          (error) => {
            fail(error);
            send({});
          },
        );
      },
      transports: subscribeOptions.transports ?? ["websocket", "polling"],
      reconnectionDelay: subscribeOptions.reconnectionDelay ?? 1000,
      reconnectionDelayMax: Math.max(subscribeOptions.reconnectionDelay ?? 1000, 5000),
      forceNew: true,
    });

    for (const event of CLIENT_EVENTS) {
      socket.on(event, ((payload: unknown) => {
        const parsed = clientEventMap[event].safeParse(payload);
        if (!parsed.success) return fail(new Error(`${event} event does not match its contract: ${describeZodError(parsed.error)}`));
        if (event === "asset_processed") {
          const outcome = parsed.data as AssetProcessedEvent;
          const key = outcomeKey(outcome.assetId, outcome.status, outcome.timestamp);
          if (delivered.has(key)) return;
          delivered.add(key);
        }
        (handlers[event] as ((payload: unknown) => void) | undefined)?.(parsed.data);
      }) as never);
    }

    /**
     * Reads every Asset changed since the last complete catch-up and hands over the finished ones not
     * delivered yet. `since` moves, and Assets count as delivered, only once every page was read, so a
     * catch-up cut short is read again in full by the next attempt.
     */
    async function catchUp(): Promise<void> {
      const found = new Map<string, AssetResponse>();
      let newest = since;
      for await (const page of list({ updatedSince: since, limit: 100 })) {
        for (const asset of page.items) {
          if (asset.updatedAt > newest) newest = asset.updatedAt;
          if (!FINISHED.has(asset.status)) continue;
          const key = outcomeKey(asset.id, asset.status, asset.aiMetadata?.processedAt ?? asset.updatedAt);
          if (!delivered.has(key)) found.set(key, asset);
        }
      }
      since = newest;
      for (const key of found.keys()) delivered.add(key);
      if (found.size && !closed) handlers.onCatchUp?.([...found.values()]);
    }

    /** A failed catch-up (API unreachable for a moment) is retried with backoff until it succeeds or the subscription closes. */
    async function catchUpUntilDone(): Promise<void> {
      for (let delayMs = 500; !closed; delayMs = Math.min(delayMs * 2, 30_000)) {
        try {
          return await catchUp();
        } catch (error) {
          fail(error);
          await new Promise((resolve) => setTimeout(resolve, delayMs));
        }
      }
    }

    // Catch-ups run one after another, so two quick reconnects cannot deliver the same Asset twice.
    let catchUps: Promise<void> = Promise.resolve();
    socket.on("connect", () => {
      const recovered = socket.recovered;
      handlers.onConnect?.({ recovered });
      if (recovered) return; // the server replayed the missed events
      catchUps = catchUps.then(catchUpUntilDone);
    });
    socket.on("disconnect", (reason) => {
      handlers.onDisconnect?.(reason);
      // The server disconnected us (an expired token): come back when a fresh token can be had.
      if (reason === "io server disconnect" && typeof options.token === "function" && !closed) socket.connect();
    });
    socket.on("connect_error", (error) => fail(new ApiError(0, socket.active ? "unreachable" : "unauthorized", `notifier ${notifierUrl}: ${error.message}`)));

    return {
      socket,
      close() {
        closed = true;
        socket.close();
      },
    };
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
    delete: (assetId) => request("DELETE", assetPath(assetId), noContentSchema),
    setStatus: (assetId, status) => request("PATCH", assetPath(assetId), assetResponseSchema, { json: { status } satisfies AssetPatch }),
    webhooks: {
      create: (webhook) => request("POST", "/api/webhooks", createdWebhookSchema, { json: webhook }),
      list: async () => (await request("GET", "/api/webhooks", webhookListSchema)).items,
      delete: (webhookId) => request("DELETE", webhookPath(webhookId), noContentSchema),
      deliveries: async (webhookId) => (await request("GET", `${webhookPath(webhookId)}/deliveries`, deliveryListSchema)).items,
    },
    subscribe,
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
