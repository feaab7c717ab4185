/**
 * The owner's hold on an Asset, over real processes: live progress while it
 * is processed (never after its final event), deletion (during processing,
 * while waiting, when active; images removed; nothing follows
 * `asset_deleted`), archiving through PATCH, and idempotent uploads under
 * concurrency. The AI step is the OpenAI-compatible stand-in, slowed down
 * where a test needs a run in flight.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { AI_QUEUE } from "@pipeline/messaging";

import { Queue } from "bullmq";
import { Types } from "mongoose";
import { io, type Socket } from "socket.io-client";
import { getJson } from "../helpers/api.ts";
import { productPhoto } from "../helpers/images.ts";
import { assetOf, waitForStatus } from "../helpers/outcomes.ts";
import { eventually } from "../helpers/sockets.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";
import { jsonReply, type OpenAiStandIn, SAMPLE_METADATA, startOpenAiStandIn } from "../standins/openai.ts";

let stack: Stack;
let ai: OpenAiStandIn;
let queue: Queue;
const owner = newUserId();
const stranger = newUserId();
let token: string;
let strangerToken: string;
let photo: Uint8Array;
/** Every event the owner's socket received, in order. */
const received: { event: string; payload: { assetId?: string; stage?: string; status?: string } }[] = [];
let socket: Socket;

beforeAll(async () => {
  ai = startOpenAiStandIn();
  stack = await Stack.start({
    env: { ANALYZER: "openai", AI_BASE_URL: ai.url, RATE_LIMIT_PER_MINUTE: "100000", WORKER_CONCURRENCY: "1", JOB_BACKOFF_MS: "200", JOB_TIMEOUT_MS: "30000" },
  });
  stack.onStop(ai);
  queue = stack.onStop(new Queue(AI_QUEUE, { connection: stack.redis(), prefix: stack.id }));
  token = await tokenFor(owner);
  strangerToken = await tokenFor(stranger);
  photo = await productPhoto({ format: "jpeg" });
  socket = io(stack.get("notifier").url, { auth: { token }, transports: ["websocket"], forceNew: true, reconnection: false });
  socket.onAny((event: string, payload: (typeof received)[number]["payload"]) => received.push({ event, payload }));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
}, 120_000);

afterAll(async () => {
  socket?.close();
  await stack?.stop();
});

const api = (path: string, init: RequestInit = {}, as = token) =>
  fetch(`${stack.gatewayUrl}${path}`, { ...init, headers: { authorization: `Bearer ${as}`, ...(init.headers ?? {}) } });

async function submit(headers: Record<string, string> = {}, image = photo): Promise<Response> {
  const form = new FormData();
  form.append("image", new File([image as BlobPart], "item.jpg", { type: "image/jpeg" }));
  form.append("category", "sneaker");
  return api("/api/assets/analyze-queue", { method: "POST", body: form, headers });
}

async function accepted(headers: Record<string, string> = {}, image = photo): Promise<{ assetId: string; jobId: string }> {
  const response = await submit(headers, image);
  expect(response.status).toBe(202);
  return response.json();
}

const eventsAbout = (assetId: string) => received.filter((entry) => entry.payload?.assetId === assetId);
const storedFiles = () => readdirSync(stack.storageDir);
const fileOf = (url: string) => url.slice(url.lastIndexOf("/") + 1);

describe("progress", () => {
  test("the owner's socket gets each stage in order, GET shows the stage while processing, and nothing follows the final event", async () => {
    ai.script(jsonReply(SAMPLE_METADATA, 2000));
    const { assetId } = await accepted();
    await eventually(() => ai.requests.length >= 1, 20_000, "the AI call");
    const during = await assetOf(stack.gatewayUrl, token, assetId);
    expect(during.status).toBe("processing");
    expect(during.progress).toEqual({ stage: "analyzing", progress: 60 });

    await waitForStatus(stack.gatewayUrl, token, assetId, "active");
    await eventually(() => eventsAbout(assetId).some((e) => e.event === "asset_processed"), 10_000, "asset_processed");
    await Bun.sleep(300);
    const sequence = eventsAbout(assetId).map((e) => (e.event === "asset_progress" ? e.payload.stage : e.event));
    expect(sequence).toEqual(["downloading", "removing_background", "analyzing", "storing", "asset_processed"]);
    // Once active, GET shows no stage.
    expect((await assetOf(stack.gatewayUrl, token, assetId)).progress).toBeUndefined();
  }, 60_000);
});

describe("deletion", () => {
  test("during processing: 204, gone, images removed, asset_deleted on the socket, and no asset_processed or progress after it", async () => {
    const requestsBefore = ai.requests.length;
    ai.script(jsonReply(SAMPLE_METADATA, 2500));
    const { assetId } = await accepted();
    await eventually(() => ai.requests.length > requestsBefore, 20_000, "the AI call of the run");
    const { images } = await assetOf(stack.gatewayUrl, token, assetId);
    expect(storedFiles()).toContain(fileOf(images.original.url));
    const processedBefore = storedFiles().filter((name) => name.includes("-processed")).length;

    const deleted = await api(`/api/assets/${assetId}`, { method: "DELETE" });
    expect(deleted.status).toBe(204);
    expect((await getJson(stack.gatewayUrl, `/api/assets/${assetId}`, token)).status).toBe(404);
    expect(storedFiles()).not.toContain(fileOf(images.original.url));
    await eventually(() => eventsAbout(assetId).some((e) => e.event === "asset_deleted"), 10_000, "asset_deleted");

    // The run finishes its AI call after the deletion: its result is discarded and its cut-out removed.
    await eventually(
      async () => (await queue.getJob(assetId)) === undefined || (await queue.getJob(assetId))?.finishedOn !== undefined,
      20_000,
      "the run to end",
    );
    await Bun.sleep(500);
    const events = eventsAbout(assetId).map((e) => e.event);
    expect(events.at(-1)).toBe("asset_deleted");
    expect(events).not.toContain("asset_processed");
    expect(storedFiles().filter((name) => name.includes("-processed")).length).toBe(processedBefore);
  }, 60_000);

  test("while waiting: the queued run is cancelled and never reaches the AI step", async () => {
    ai.script(jsonReply(SAMPLE_METADATA, 1500), jsonReply(SAMPLE_METADATA));
    const requestsBefore = ai.requests.length;
    const first = await accepted();
    const waiting = await accepted();
    expect(await (await queue.getJob(waiting.jobId))?.getState()).toBe("prioritized"); // fair share: a waiting AI job sits in BullMQ's prioritized set

    expect((await api(`/api/assets/${waiting.assetId}`, { method: "DELETE" })).status).toBe(204);
    expect(await queue.getJob(waiting.jobId)).toBeUndefined();
    await waitForStatus(stack.gatewayUrl, token, first.assetId, "active");
    await Bun.sleep(500);
    // The first run's call only.
    expect(ai.requests.length).toBe(requestsBefore + 1);
    expect(eventsAbout(waiting.assetId).map((e) => e.event)).toEqual(["asset_deleted"]);
  }, 60_000);

  test("an active Asset: both images removed; only its owner can delete it; a repeated DELETE is 204 again; a bad id is 404", async () => {
    const { assetId } = await accepted();
    const active = await waitForStatus(stack.gatewayUrl, token, assetId, "active");
    const files = [fileOf(active.images.original.url), fileOf(active.images.processed.url)];
    for (const file of files) expect(storedFiles()).toContain(file);

    expect((await api(`/api/assets/${assetId}`, { method: "DELETE" }, strangerToken)).status).toBe(404);
    expect((await assetOf(stack.gatewayUrl, token, assetId)).status).toBe("active");

    expect((await api(`/api/assets/${assetId}`, { method: "DELETE" })).status).toBe(204);
    for (const file of files) expect(storedFiles()).not.toContain(file);
    expect((await api(`/api/assets/${assetId}`, { method: "DELETE" })).status).toBe(204);
    expect((await api(`/api/assets/${assetId}`, { method: "DELETE" }, strangerToken)).status).toBe(404);
    expect((await api("/api/assets/not-an-id", { method: "DELETE" })).status).toBe(404);
    expect((await api(`/api/assets/${new Types.ObjectId().toHexString()}`, { method: "DELETE" })).status).toBe(404);
    await eventually(() => eventsAbout(assetId).some((e) => e.event === "asset_deleted"), 10_000, "asset_deleted");
    const list = await (await getJson(stack.gatewayUrl, "/api/assets?limit=100", token)).json();
    expect(list.items.map((item: { id: string }) => item.id)).not.toContain(assetId);
  }, 60_000);
});

describe("archiving", () => {
  test("PATCH archives an active Asset and brings it back; not from processing; only the owner; bad bodies are 400", async () => {
    const { assetId } = await accepted();
    ai.script(jsonReply(SAMPLE_METADATA, 1500));
    const slow = await accepted();
    const patch = (id: string, body: unknown, as = token) =>
      api(`/api/assets/${id}`, { method: "PATCH", body: JSON.stringify(body), headers: { "content-type": "application/json" } }, as);

    await eventually(async () => (await patch(slow.assetId, { status: "archived" })).status === 409, 5_000, "409 while processing");
    await waitForStatus(stack.gatewayUrl, token, assetId, "active");

    const archived = await patch(assetId, { status: "archived" });
    expect(archived.status).toBe(200);
    expect((await archived.json()).status).toBe("archived");
    expect((await patch(assetId, { status: "archived" })).status).toBe(200);
    expect((await patch(assetId, { status: "archived" }, strangerToken)).status).toBe(404);
    for (const bad of [{ status: "failed" }, { status: "processing" }, {}, "archived"]) expect((await patch(assetId, bad)).status).toBe(400);
    const restored = await patch(assetId, { status: "active" });
    expect(restored.status).toBe(200);
    expect((await restored.json()).status).toBe("active");
    await waitForStatus(stack.gatewayUrl, token, slow.assetId, "active");
  }, 60_000);
});

describe("idempotent uploads", () => {
  async function total(as = token) {
    return (await (await getJson(stack.gatewayUrl, "/api/assets?limit=1", as)).json()).total as number;
  }

  test("two concurrent requests with one key create one Asset, and both get its answer", async () => {
    const before = await total();
    const key = crypto.randomUUID();
    const answers = await Promise.all([1, 2, 3].map(() => submit({ "Idempotency-Key": key })));
    expect(answers.map((r) => r.status)).toEqual([202, 202, 202]);
    const bodies = await Promise.all(answers.map((r) => r.json()));
    expect(new Set(bodies.map((b) => b.assetId)).size).toBe(1);
    expect(answers.filter((r) => r.headers.get("idempotent-replayed") === "true")).toHaveLength(2);
    expect(await total()).toBe(before + 1);

    // Later, the same key again: the first answer, nothing created.
    const again = await submit({ "Idempotency-Key": key });
    expect(again.status).toBe(202);
    expect((await again.json()).assetId).toBe(bodies[0].assetId);
    expect(await total()).toBe(before + 1);
  }, 60_000);

  test("the same key with a different image is 422; another user's same key is their own; no key makes a new Asset each time", async () => {
    const key = crypto.randomUUID();
    const first = await accepted({ "Idempotency-Key": key });
    const other = await productPhoto({ format: "jpeg", color: "#1040d0" });
    const conflicting = await submit({ "Idempotency-Key": key }, other);
    expect(conflicting.status).toBe(422);
    expect((await conflicting.json()).error.code).toBe("unprocessable_entity");

    const form = new FormData();
    form.append("image", new File([photo as BlobPart], "item.jpg", { type: "image/jpeg" }));
    form.append("category", "sneaker");
    const theirs = await api("/api/assets/analyze-queue", { method: "POST", body: form, headers: { "Idempotency-Key": key } }, strangerToken);
    expect(theirs.status).toBe(202);
    expect(theirs.headers.get("idempotent-replayed")).toBeNull();
    expect((await theirs.json()).assetId).not.toBe(first.assetId);

    const before = await total();
    await accepted();
    await accepted();
    expect(await total()).toBe(before + 2);
  }, 60_000);

  test("a malformed key is a 400 naming the header", async () => {
    const response = await submit({ "Idempotency-Key": "x".repeat(300) });
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toContain("idempotency-key");
  });
});
