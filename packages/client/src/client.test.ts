import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { CLIENT_EVENTS } from "@pipeline/contracts";
import {
  ApiError,
  type AssetResponse,
  type Client,
  createClient,
  type DeliveryResponse,
  defaultNotifierUrl,
  type SubscribeHandlers,
  type WebhookResponse,
} from "./index.ts";

const ASSET_ID = "65f1c0ffee0123456789abcd";
const MISSING_ID = "65f1c0ffee0123456789dead";
const WEBHOOK_ID = "65f1c0ffee01234567890001";
const now = new Date().toISOString();
const asset = (status: AssetResponse["status"]): AssetResponse => ({
  id: ASSET_ID,
  _id: ASSET_ID,
  userId: "65f1c0ffee0123456789beef",
  category: "sneaker",
  status,
  images: { original: { url: "http://127.0.0.1:3000/media/0123456789abcdef0123456789abcdef-original.png" } },
  createdAt: now,
  updatedAt: now,
});
const SECRET = "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmU=";
const notFound = () => Response.json({ error: { code: "not_found", message: "no such asset" } }, { status: 404 });

interface Seen {
  method: string;
  path: string;
  headers: Headers;
  json?: unknown;
}

/**
 * A loopback stand-in of the gateway's routes the client calls: it records
 * each request and answers what the API would for ASSET_ID and WEBHOOK_ID,
 * 404 for anything else.
 */
function startApi() {
  const seen: Seen[] = [];
  const webhook: WebhookResponse = { id: WEBHOOK_ID, url: "http://127.0.0.1:9/hook", events: ["asset.processed"], enabled: true, createdAt: now };
  const delivery: DeliveryResponse = {
    id: "msg_2m9x",
    type: "asset.processed",
    status: "succeeded",
    attempts: [{ at: now, statusCode: 200, error: null, durationMs: 12 }],
    createdAt: now,
    updatedAt: now,
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const { pathname: path } = new URL(request.url);
      const json = request.headers.get("content-type") === "application/json" ? await request.json() : undefined;
      seen.push({ method: request.method, path, headers: request.headers, json });
      const route = `${request.method} ${path}`;
      switch (route) {
        case "POST /api/assets/analyze-queue":
          return Response.json({ assetId: ASSET_ID, jobId: "job-1", status: "processing" }, { status: 202 });
        case `DELETE /api/assets/${ASSET_ID}`:
        case `DELETE /api/webhooks/${webhook.id}`:
          return new Response(null, { status: 204 });
        case `PATCH /api/assets/${ASSET_ID}`:
          return Response.json(asset((json as { status: AssetResponse["status"] }).status));
        case "POST /api/webhooks":
          return Response.json({ id: webhook.id, url: webhook.url, events: webhook.events, ...(json as object), secret: SECRET }, { status: 201 });
        case "GET /api/webhooks":
          return Response.json({ items: [webhook] });
        case `GET /api/webhooks/${webhook.id}/deliveries`:
          return Response.json({ items: [delivery] });
        default:
          return notFound();
      }
    },
  });
  return { seen, webhook, delivery, url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}

describe("createClient", () => {
  test("the notifier defaults to port 3002 next to a gateway on 3000, else the gateway itself", () => {
    expect(defaultNotifierUrl("http://127.0.0.1:3000")).toBe("http://127.0.0.1:3002");
    expect(defaultNotifierUrl("http://127.0.0.1:3000/")).toBe("http://127.0.0.1:3002");
    expect(defaultNotifierUrl("https://pipeline.example")).toBe("https://pipeline.example");
    expect(createClient({ baseUrl: "http://127.0.0.1:3000", token: "t" }).notifierUrl).toBe("http://127.0.0.1:3002");
    expect(createClient({ baseUrl: "http://127.0.0.1:3000", token: "t", notifierUrl: "http://127.0.0.1:9" }).notifierUrl).toBe("http://127.0.0.1:9");
  });

  test("an unreachable gateway is ApiError status 0, code unreachable, naming the URL", async () => {
    const client = createClient({ baseUrl: "http://127.0.0.1:1", token: "t" });
    const error = await client.get("65f1c0ffee0123456789abcd").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 0, code: "unreachable" });
    expect((error as ApiError).message).toContain("http://127.0.0.1:1/api/assets/65f1c0ffee0123456789abcd");
  });

  test("a non-2xx answer is ApiError with the body's code and message", async () => {
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => Response.json({ error: { code: "conflict", message: "asset is not failed" } }, { status: 409 }),
    });
    try {
      const client = createClient({ baseUrl: `http://127.0.0.1:${server.port}`, token: "t" });
      const error = await client.retry("65f1c0ffee0123456789abcd").catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({ status: 409, code: "conflict", message: "asset is not failed" });
    } finally {
      server.stop(true);
    }
  });

  test("an answer that breaks the contract is an ApiError, not a wrongly typed value", async () => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ items: "nope" }) });
    try {
      const client = createClient({ baseUrl: `http://127.0.0.1:${server.port}`, token: "t" });
      const error = await client
        .list()
        .next()
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: "invalid_response" });
    } finally {
      server.stop(true);
    }
  });
});

test("subscribe handlers are typed for asset_progress and asset_deleted, and the client listens for them", () => {
  const seen: string[] = [];
  const handlers: SubscribeHandlers = {
    asset_progress: (event) => seen.push(`${event.assetId} ${event.stage} ${event.progress}`),
    asset_deleted: (event) => seen.push(`${event.assetId} deleted`),
  };
  expect(Object.keys(handlers)).toEqual(["asset_progress", "asset_deleted"]);
  // subscribe registers a listener for every name in CLIENT_EVENTS.
  expect(CLIENT_EVENTS).toEqual(expect.arrayContaining(["asset_processed", "asset_progress", "asset_deleted"]));
});

describe("asset and webhook routes", () => {
  let api: ReturnType<typeof startApi>;
  let client: Client;
  beforeAll(() => {
    api = startApi();
    client = createClient({ baseUrl: api.url, token: "t" });
  });
  afterAll(() => api.stop());
  beforeEach(() => {
    api.seen.length = 0;
  });
  const only = () => {
    expect(api.seen).toHaveLength(1);
    const [request] = api.seen;
    expect(request!.headers.get("authorization")).toBe("Bearer t");
    return request!;
  };

  test("upload sends Idempotency-Key only when one is given", async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(await client.upload(png, { category: "lego", idempotencyKey: "upload-42" })).toEqual({ assetId: ASSET_ID, jobId: "job-1", status: "processing" });
    expect(only().headers.get("idempotency-key")).toBe("upload-42");

    api.seen.length = 0;
    await client.upload(png, { category: "lego" });
    expect(only().headers.has("idempotency-key")).toBe(false);
  });

  test("delete is DELETE /api/assets/:id and resolves to nothing on 204", async () => {
    expect(await client.delete(ASSET_ID)).toBeUndefined();
    expect(only()).toMatchObject({ method: "DELETE", path: `/api/assets/${ASSET_ID}` });
  });

  test("setStatus PATCHes {status} as JSON and answers the Asset", async () => {
    const archived = await client.setStatus(ASSET_ID, "archived");
    expect(archived).toMatchObject({ id: ASSET_ID, status: "archived" });
    const request = only();
    expect(request).toMatchObject({ method: "PATCH", path: `/api/assets/${ASSET_ID}`, json: { status: "archived" } });
    expect(request.headers.get("content-type")).toBe("application/json");
  });

  test("404 is an ApiError with the API's code, for every new route", async () => {
    const calls: (() => Promise<unknown>)[] = [
      () => client.delete(MISSING_ID),
      () => client.setStatus(MISSING_ID, "active"),
      () => client.webhooks.delete(MISSING_ID),
      () => client.webhooks.deliveries(MISSING_ID),
    ];
    for (const call of calls) {
      const error = await call().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({ status: 404, code: "not_found", message: "no such asset" });
    }
  });

  test("webhooks: create (JSON body, answers the secret), list, deliveries, delete", async () => {
    const created = await client.webhooks.create({ url: "http://127.0.0.1:9/hook", events: ["asset.processed", "asset.failed"] });
    expect(created).toEqual({ id: WEBHOOK_ID, url: "http://127.0.0.1:9/hook", events: ["asset.processed", "asset.failed"], secret: SECRET });
    expect(only()).toMatchObject({
      method: "POST",
      path: "/api/webhooks",
      json: { url: "http://127.0.0.1:9/hook", events: ["asset.processed", "asset.failed"] },
    });

    api.seen.length = 0;
    const listed = await client.webhooks.list();
    expect(listed).toEqual([api.webhook]);
    expect(only()).toMatchObject({ method: "GET", path: "/api/webhooks" });

    api.seen.length = 0;
    expect(await client.webhooks.deliveries(WEBHOOK_ID)).toEqual([api.delivery]);
    expect(only()).toMatchObject({ method: "GET", path: `/api/webhooks/${WEBHOOK_ID}/deliveries` });

    api.seen.length = 0;
    expect(await client.webhooks.delete(WEBHOOK_ID)).toBeUndefined();
    expect(only()).toMatchObject({ method: "DELETE", path: `/api/webhooks/${WEBHOOK_ID}` });
  });

  test("a webhook answer that breaks the contract (here: no secret) is invalid_response", async () => {
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => Response.json({ id: WEBHOOK_ID, url: "http://127.0.0.1:9/hook", events: ["asset.processed"] }, { status: 201 }),
    });
    try {
      const error = await createClient({ baseUrl: `http://127.0.0.1:${server.port}`, token: "t" })
        .webhooks.create({ url: "http://127.0.0.1:9/hook" })
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: "invalid_response" });
    } finally {
      server.stop(true);
    }
  });
});
