/**
 * Standard Webhooks end to end over real processes: registration, listing and
 * deletion through the gateway; signed deliveries of real uploads (verified
 * with the `standardwebhooks` package) to a receiver on loopback; retries with
 * backoff, one `webhook-id` across them, and every attempt in the delivery
 * log; a failed delivery; a webhook disabled after failing too long; redirects
 * not followed; and, on a stack without WEBHOOK_ALLOW_PRIVATE, refusals of
 * non-public and plain-HTTP targets at registration.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AssetProcessedEvent, ClientEventJob } from "@pipeline/contracts/events";
import type { DeliveryResponse, WebhookResponse } from "@pipeline/contracts/webhooks";
import { ClientEvents, type FinalMessage, runIdFor, WEBHOOK_QUEUE } from "@pipeline/messaging";
import { Queue } from "bullmq";
import type { Server } from "bun";
import { Types } from "mongoose";
import { Webhook } from "standardwebhooks";
import { stopProcess } from "../../scripts/lib/processes.ts";
import { getJson, postJson, upload } from "../helpers/api.ts";
import { productPhoto } from "../helpers/images.ts";
import { waitForEvent } from "../helpers/outcomes.ts";
import { connectRecording, eventually } from "../helpers/sockets.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";

const ALL_TYPES = ["asset.processed", "asset.failed", "asset.deleted"];

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A webhook receiver on loopback: each path answers its script of statuses in turn (the last one repeats). */
class Receiver {
  readonly requests: Received[] = [];
  private readonly server: Server<undefined>;

  constructor(private readonly scripts: Record<string, number[]>) {
    this.server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (request) => {
        const path = new URL(request.url).pathname;
        this.requests.push({ path, headers: Object.fromEntries(request.headers), body: await request.text() });
        const script = this.scripts[path] ?? [404];
        const status = script[Math.min(this.at(path).length - 1, script.length - 1)] as number;
        if (status >= 300 && status < 400) return new Response(null, { status, headers: { location: "http://127.0.0.1:1/elsewhere" } });
        return new Response(status >= 400 ? "no" : null, { status });
      },
    });
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.server.port}${path}`;
  }

  at(path: string): Received[] {
    return this.requests.filter((request) => request.path === path);
  }

  stop() {
    this.server.stop(true);
  }
}

function deleteJson(baseUrl: string, path: string, token: string): Promise<Response> {
  return fetch(`${baseUrl}${path}`, { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
}

describe("webhooks (WEBHOOK_ALLOW_PRIVATE=true: receivers on loopback)", () => {
  let stack: Stack;
  let receiver: Receiver;
  let publisher: ClientEvents;
  const users = { a: newUserId(), b: newUserId(), flaky: newUserId(), moved: newUserId(), down: newUserId(), disabled: newUserId() };
  const tokens = {} as Record<keyof typeof users, string>;

  beforeAll(async () => {
    receiver = new Receiver({
      "/a": [200],
      "/a-deleted-only": [204],
      "/b": [200],
      "/flaky": [500, 500, 200],
      "/moved": [302],
      "/down": [500],
      "/disabled": [503],
    });
    stack = await Stack.start({
      services: ["ingest", "ai-worker", "gateway"],
      env: { WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_BACKOFF_MS: "200", WEBHOOK_ATTEMPTS: "3", JOB_BACKOFF_MS: "200", RATE_LIMIT_PER_MINUTE: "100000" },
    });
    await stack.add("notifier");
    stack.onStop(receiver);
    publisher = stack.onStop(new ClientEvents(stack.redis(), stack.id));
    for (const name of Object.keys(users) as (keyof typeof users)[]) tokens[name] = await tokenFor(users[name]);
  }, 120_000);
  afterAll(() => stack?.stop());

  const create = (token: string, body: unknown) => postJson(stack.gatewayUrl, "/api/webhooks", token, body);

  async function register(token: string, path: string, events?: string[]): Promise<{ id: string; secret: string }> {
    const response = await create(token, { url: receiver.url(path), ...(events ? { events } : {}) });
    expect(response.status).toBe(201);
    return response.json();
  }

  async function list(token: string): Promise<WebhookResponse[]> {
    const response = await getJson(stack.gatewayUrl, "/api/webhooks", token);
    expect(response.status).toBe(200);
    return (await response.json()).items;
  }

  async function deliveries(token: string, webhookId: string): Promise<DeliveryResponse[]> {
    const response = await getJson(stack.gatewayUrl, `/api/webhooks/${webhookId}/deliveries`, token);
    expect(response.status).toBe(200);
    return (await response.json()).items;
  }

  /** Waits until the webhook has `count` deliveries, all in `status`. */
  async function settled(token: string, webhookId: string, status: string, count = 1): Promise<DeliveryResponse[]> {
    let items: DeliveryResponse[] = [];
    await eventually(
      async () => {
        items = await deliveries(token, webhookId);
        return items.length === count && items.every((delivery) => delivery.status === status);
      },
      30_000,
      `${count} ${status} deliveries of webhook ${webhookId}`,
    );
    return items;
  }

  /** Publishes an event on the outcome queue exactly as the ai-worker (or ingest, for deletions) does. */
  async function publish(job: ClientEventJob): Promise<void> {
    await publisher.emit(job.event === "asset_processed" ? { ...job, runId: runIdFor(crypto.randomUUID()) } : (job as FinalMessage));
  }

  function processedEvent(userId: string): ClientEventJob {
    const assetId = new Types.ObjectId().toHexString();
    const detection = { value: null, confidence: 0 };
    return {
      userId,
      event: "asset_processed",
      payload: {
        event: "asset_processed",
        assetId,
        status: "active",
        aiMetadata: { brand: detection, model: detection, colorway: detection },
        processedImageUrl: `https://media.example.test/${assetId}.png`,
        timestamp: new Date().toISOString(),
      },
    };
  }

  function verify(secret: string, request: Received) {
    return new Webhook(secret).verify(request.body, request.headers);
  }

  let hookA: { id: string; secret: string };
  let hookDeletedOnly: { id: string; secret: string };
  let hookB: { id: string; secret: string };

  test("POST /api/webhooks answers 201 {id, url, events, secret}: a whsec_ secret of 32 bytes, all events by default", async () => {
    const response = await create(tokens.a, { url: receiver.url("/a") });
    expect(response.status).toBe(201);
    const body = await response.json();
    expect(Object.keys(body).sort()).toEqual(["events", "id", "secret", "url"]);
    expect(body.id).toMatch(/^[0-9a-f]{24}$/);
    expect(body.url).toBe(receiver.url("/a"));
    expect(body.events).toEqual(ALL_TYPES);
    expect(body.secret).toMatch(/^whsec_/);
    expect(Buffer.from(body.secret.slice("whsec_".length), "base64")).toHaveLength(32);
    hookA = body;
    hookDeletedOnly = await register(tokens.a, "/a-deleted-only", ["asset.deleted"]);
    hookB = await register(tokens.b, "/b");
  });

  test("bad registrations are 400 with the error shape", async () => {
    for (const body of [
      {},
      { url: "not a url" },
      { url: "ftp://127.0.0.1/x" },
      { url: receiver.url("/a"), events: [] },
      { url: receiver.url("/a"), events: ["asset.exploded"] },
    ]) {
      const response = await create(tokens.a, body);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: { code: "bad_request", message: expect.any(String) } });
    }
  });

  test("GET /api/webhooks lists the caller's webhooks, enabled, without secrets", async () => {
    const items = await list(tokens.a);
    expect(items.map((item) => item.id).sort()).toEqual([hookA.id, hookDeletedOnly.id].sort());
    for (const item of items) {
      expect(item).not.toHaveProperty("secret");
      expect(item.enabled).toBe(true);
      expect(item).not.toHaveProperty("failingSince");
    }
    expect(items.find((item) => item.id === hookDeletedOnly.id)?.events).toEqual(["asset.deleted"]);
    expect((await list(tokens.b)).map((item) => item.id)).toEqual([hookB.id]);
  });

  test("another user's, an unknown or a malformed id is 404 for DELETE and deliveries", async () => {
    for (const id of [hookA.id, new Types.ObjectId().toHexString(), "not-an-id", "zzzzzzzzzzzz"]) {
      const removal = await deleteJson(stack.gatewayUrl, `/api/webhooks/${id}`, tokens.b);
      expect(removal.status).toBe(404);
      expect((await removal.json()).error.code).toBe("not_found");
      expect((await getJson(stack.gatewayUrl, `/api/webhooks/${id}/deliveries`, tokens.b)).status).toBe(404);
    }
    expect(await list(tokens.a)).toHaveLength(2);
  });

  test("an upload delivers asset.processed, signed, with the socket's payload as data; no other user's webhook gets it", async () => {
    const socket = await connectRecording(stack.get("notifier").url, tokens.a);
    stack.onStop(socket);
    const response = await upload(stack.gatewayUrl, tokens.a, { image: await productPhoto({ format: "png" }), category: "sneaker" });
    expect(response.status).toBe(202);
    const { assetId } = await response.json();
    const event: AssetProcessedEvent = await waitForEvent(socket, assetId, 60_000);
    const [delivery] = await settled(tokens.a, hookA.id, "succeeded");

    const requests = receiver.at("/a");
    expect(requests).toHaveLength(1);
    const request = requests[0]!;
    expect(verify(hookA.secret, request)).toEqual({ type: "asset.processed", timestamp: event.timestamp, data: event });
    expect(JSON.parse(request.body)).toEqual({ type: "asset.processed", timestamp: event.timestamp, data: event });
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["webhook-id"]).toBe(delivery!.id);
    expect(delivery!.id).toMatch(/^msg_/);
    expect(Math.abs(Number(request.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(60);
    expect(delivery).toMatchObject({ type: "asset.processed", status: "succeeded", attempts: [{ statusCode: 200, error: null }] });
    expect(delivery!.attempts[0]!.durationMs).toBeGreaterThanOrEqual(0);

    // Not subscribed to asset.processed, or not the owner: nothing.
    await Bun.sleep(500);
    expect(receiver.at("/a-deleted-only")).toHaveLength(0);
    expect(receiver.at("/b")).toHaveLength(0);
    expect(await deliveries(tokens.b, hookB.id)).toEqual([]);
  });

  test("a failed run delivers asset.failed", async () => {
    // A PNG by its magic number that does not decode: the ai-worker fails it at once.
    const broken = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new TextEncoder().encode("not really a png")]);
    const response = await upload(stack.gatewayUrl, tokens.a, { image: broken, category: "camera" });
    expect(response.status).toBe(202);
    const { assetId } = await response.json();
    const items = await settled(tokens.a, hookA.id, "succeeded", 2);
    expect(items[0]!.type).toBe("asset.failed");
    const body = verify(hookA.secret, receiver.at("/a").at(-1)!) as { type: string; data: { assetId: string; status: string; error: string } };
    expect(body.type).toBe("asset.failed");
    expect(body.data).toMatchObject({ event: "asset_processed", assetId, status: "failed", error: expect.any(String) });
    expect(receiver.at("/a-deleted-only")).toHaveLength(0);
  });

  test("asset_deleted on the outcome queue reaches every webhook subscribed to asset.deleted", async () => {
    const payload = { assetId: new Types.ObjectId().toHexString(), timestamp: new Date().toISOString() };
    await publish({ userId: users.a, event: "asset_deleted", payload });
    await settled(tokens.a, hookDeletedOnly.id, "succeeded");
    await settled(tokens.a, hookA.id, "succeeded", 3);
    for (const [path, secret] of [
      ["/a-deleted-only", hookDeletedOnly.secret],
      ["/a", hookA.secret],
    ] as const) {
      expect(verify(secret, receiver.at(path).at(-1)!)).toEqual({ type: "asset.deleted", timestamp: payload.timestamp, data: payload });
    }
  });

  test("a user without webhooks costs no fan-out job; after Redis lost the owners' set, events still reach webhooks and the set comes back", async () => {
    const queue = stack.onStop(new Queue(WEBHOOK_QUEUE, { connection: stack.redis(), prefix: stack.id }));
    const before = await queue.getJobCountByTypes("completed", "failed", "waiting", "active", "delayed");
    await publish(processedEvent(newUserId()));
    await Bun.sleep(500);
    expect(await queue.getJobCountByTypes("completed", "failed", "waiting", "active", "delayed")).toBe(before);

    await stack.redis().del(`${stack.id}:webhook-owners`);
    const event = processedEvent(users.a);
    const assetId = (event.payload as AssetProcessedEvent).assetId;
    await publish(event);
    await eventually(() => receiver.at("/a").some((request) => request.body.includes(assetId)), 30_000, "the delivery after the set was lost");
    expect(await stack.redis().sismember(`${stack.id}:webhook-owners`, users.a)).toBe(1);
  });

  test("a receiver answering 500, 500, 200: three attempts under one webhook-id, delivery succeeded", async () => {
    const hook = await register(tokens.flaky, "/flaky");
    await publish(processedEvent(users.flaky));
    const [delivery] = await settled(tokens.flaky, hook.id, "succeeded");
    expect(delivery!.attempts.map((attempt) => attempt.statusCode)).toEqual([500, 500, 200]);
    expect(delivery!.attempts.map((attempt) => attempt.error)).toEqual(["receiver answered 500", "receiver answered 500", null]);
    const requests = receiver.at("/flaky");
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((request) => request.headers["webhook-id"]))).toEqual(new Set([delivery!.id]));
    for (const request of requests) expect(verify(hook.secret, request)).toMatchObject({ type: "asset.processed" });
    // The streak of failures ended with the success.
    const [listed] = await list(tokens.flaky);
    expect(listed).toMatchObject({ enabled: true });
    expect(listed).not.toHaveProperty("failingSince");
  });

  test("a redirect is a failed attempt that is not followed", async () => {
    const hook = await register(tokens.moved, "/moved");
    await publish(processedEvent(users.moved));
    const [delivery] = await settled(tokens.moved, hook.id, "failed");
    expect(delivery!.attempts).toHaveLength(3);
    for (const attempt of delivery!.attempts) {
      expect(attempt.statusCode).toBe(302);
      expect(attempt.error).toBe("redirect not followed: 302 to http://127.0.0.1:1/elsewhere");
    }
    expect(receiver.at("/moved")).toHaveLength(3);
    expect(receiver.at("/elsewhere")).toHaveLength(0);
  });

  test("the notifier counts deliveries by outcome", async () => {
    const metrics = await (await fetch(`${stack.get("notifier").url}/metrics`)).text();
    for (const outcome of ["succeeded", "retried", "failed"])
      expect(metrics).toMatch(new RegExp(`webhook_deliveries_total\\{[^}]*outcome="${outcome}"[^}]*\\} [1-9]`));
  });

  test("DELETE /api/webhooks/:id answers 204; the webhook is gone", async () => {
    const response = await deleteJson(stack.gatewayUrl, `/api/webhooks/${hookDeletedOnly.id}`, tokens.a);
    expect(response.status).toBe(204);
    expect((await list(tokens.a)).map((item) => item.id)).toEqual([hookA.id]);
    expect((await deleteJson(stack.gatewayUrl, `/api/webhooks/${hookDeletedOnly.id}`, tokens.a)).status).toBe(404);
    expect((await getJson(stack.gatewayUrl, `/api/webhooks/${hookDeletedOnly.id}/deliveries`, tokens.a)).status).toBe(404);
  });

  async function restartNotifier(env: Record<string, string>) {
    await stopProcess(stack.get("notifier").proc);
    await stack.add("notifier", env);
  }

  test("with WEBHOOK_ATTEMPTS=2, a receiver that always fails: the delivery ends failed after two attempts", async () => {
    await restartNotifier({ WEBHOOK_ATTEMPTS: "2" });
    const hook = await register(tokens.down, "/down");
    await publish(processedEvent(users.down));
    const [delivery] = await settled(tokens.down, hook.id, "failed");
    expect(delivery!.attempts.map((attempt) => attempt.statusCode)).toEqual([500, 500]);
    expect(receiver.at("/down")).toHaveLength(2);
    // Failing, but not yet for WEBHOOK_DISABLE_AFTER_MS (24 h): still enabled.
    const [listed] = await list(tokens.down);
    expect(listed!.enabled).toBe(true);
    expect(Date.parse(listed!.failingSince!)).toBeLessThanOrEqual(Date.now());
  });

  test("with WEBHOOK_DISABLE_AFTER_MS=500, a webhook failing that long is disabled and its deliveries end failed", async () => {
    await restartNotifier({ WEBHOOK_ATTEMPTS: "8", WEBHOOK_DISABLE_AFTER_MS: "500" });
    const hook = await register(tokens.disabled, "/disabled");
    await publish(processedEvent(users.disabled));
    await publish(processedEvent(users.disabled));
    const items = await settled(tokens.disabled, hook.id, "failed", 2);
    const [listed] = await list(tokens.disabled);
    expect(listed!.enabled).toBe(false);
    expect(listed!.disabledReason).toContain("every attempt failed since");
    // Attempts at 0, 0.2, 0.6 s...: disabled well before the 8th, and nothing is sent once disabled.
    const attempts = items.flatMap((delivery) => delivery.attempts);
    expect(attempts.length).toBeLessThan(16);
    for (const attempt of attempts) expect(attempt.statusCode).toBe(503);
    await Bun.sleep(1500);
    expect(receiver.at("/disabled")).toHaveLength(attempts.length);

    // A disabled webhook gets no new deliveries.
    await publish(processedEvent(users.disabled));
    await Bun.sleep(1000);
    expect(await deliveries(tokens.disabled, hook.id)).toHaveLength(2);
    expect(receiver.at("/disabled")).toHaveLength(attempts.length);
  });
});

describe("registration refuses non-public and plain-HTTP targets (no WEBHOOK_ALLOW_PRIVATE)", () => {
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    stack = await Stack.start({ services: ["ingest", "gateway"] });
    token = await tokenFor(newUserId());
  }, 120_000);
  afterAll(() => stack?.stop());

  test.each([
    ["https://127.0.0.1/hook", "127.0.0.1 is a loopback address"],
    ["https://10.0.0.1/hook", "10.0.0.1 is a private address"],
    ["https://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"],
    ["https://localhost/hook", "localhost resolves to"],
    ["https://[::1]/hook", "::1 is a loopback address"],
    ["https://[::ffff:10.0.0.1]/hook", "is a private address"],
    ["http://example.com/hook", "must use https"],
  ])("%s is 400", async (url, message) => {
    const response = await postJson(stack.gatewayUrl, "/api/webhooks", token, { url });
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.error.code).toBe("bad_request");
    expect(body.error.message).toContain(message);
  });

  test("a public address is accepted (checked without connecting)", async () => {
    const response = await postJson(stack.gatewayUrl, "/api/webhooks", token, { url: "https://93.184.216.34/hook" });
    expect(response.status).toBe(201);
  });

  test("the OpenAPI document has the webhook operations", async () => {
    const doc = await (await fetch(`${stack.gatewayUrl}/api/openapi.json`)).json();
    expect(doc.paths["/api/webhooks"].post.operationId).toBe("createWebhook");
    expect(doc.paths["/api/webhooks"].get.operationId).toBe("listWebhooks");
    expect(doc.paths["/api/webhooks/{id}"].delete.operationId).toBe("deleteWebhook");
    expect(doc.paths["/api/webhooks/{id}/deliveries"].get.operationId).toBe("listWebhookDeliveries");
  });
});
