/**
 * Retries with backoff, terminal failure, permanent errors, the
 * per-attempt timeout, invalid job data, idempotent re-runs, retrying a
 * failed Asset and the operators' dead-letter routes. The worker's analyzer
 * is an OpenAI-compatible stand-in whose answers each test scripts.
 */

import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { ASSET_PROCESSED_EVENT, assetProcessedFailureSchema } from "@pipeline/contracts/events";
import type { JobData } from "@pipeline/contracts/jobs";
import { AI_QUEUE, ClientEvents, runIdFor } from "@pipeline/messaging";
import { Queue } from "bullmq";
import { Types } from "mongoose";
import { getJson, postJson, submitUpload } from "../helpers/api.ts";
import { productPhoto } from "../helpers/images.ts";
import { assetOf, eventsFor, waitForEvent, waitForStatus } from "../helpers/outcomes.ts";
import { connectRecording, eventually, type RecordingSocket } from "../helpers/sockets.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";
import { jsonReply, type OpenAiStandIn, SAMPLE_METADATA, startOpenAiStandIn } from "../standins/openai.ts";

const BACKOFF_MS = 300;
const TIMEOUT_MS = 1500;
let stack: Stack;
let ai: OpenAiStandIn;
let queue: Queue<JobData>;
const user = newUserId();
const other = newUserId();
let token: string;
let otherToken: string;
let adminToken: string;
let sockets: RecordingSocket[];
let photo: Uint8Array;

beforeAll(async () => {
  ai = startOpenAiStandIn({ apiKey: "test-key" });
  stack = await Stack.start({
    env: {
      ANALYZER: "openai",
      AI_BASE_URL: ai.url,
      AI_API_KEY: "test-key",
      AI_MODEL: "stand-in-vision",
      JOB_BACKOFF_MS: String(BACKOFF_MS),
      JOB_TIMEOUT_MS: String(TIMEOUT_MS),
      WORKER_CONCURRENCY: "1",
    },
  });
  stack.onStop(ai);
  queue = stack.onStop(new Queue<JobData>(AI_QUEUE, { connection: stack.redis(), prefix: stack.id }));
  token = await tokenFor(user);
  otherToken = await tokenFor(other);
  adminToken = await tokenFor(newUserId(), { role: "admin" });
  const notifier = stack.get("notifier").url;
  sockets = [stack.onStop(await connectRecording(notifier, token)), stack.onStop(await connectRecording(notifier, token))];
  photo = await productPhoto({ format: "png" });
}, 60_000);

afterAll(() => stack?.stop());

beforeEach(() => {
  ai.requests.length = 0;
});

const submit = () => submitUpload(stack.gatewayUrl, token, photo);

/** Waits for the event on every socket, then leaves room for a duplicate before the caller counts. */
async function settle(assetId: string) {
  for (const socket of sockets) await waitForEvent(socket, assetId);
  await Bun.sleep(400);
}

describe("retries", () => {
  test("two transient failures (503, 429) then success: active after 3 attempts, one success event, backoff growing", async () => {
    ai.script({ kind: "error", status: 503 }, { kind: "error", status: 429 }, jsonReply(SAMPLE_METADATA));
    const { assetId, jobId } = await submit();
    // Between attempts the Asset stays processing and nothing is emitted.
    await eventually(() => ai.requests.length >= 1 && ai.requests[0]!.status === 503, 10_000, "first failed attempt");
    expect((await assetOf(stack.gatewayUrl, token, assetId)).status).toBe("processing");
    expect(eventsFor(sockets[0]!, assetId)).toHaveLength(0);

    await settle(assetId);
    for (const socket of sockets) {
      expect(eventsFor(socket, assetId)).toHaveLength(1);
      expect(eventsFor(socket, assetId)[0]!.status).toBe("active");
    }
    const asset = await assetOf(stack.gatewayUrl, token, assetId);
    expect(asset.status).toBe("active");
    expect(asset.aiMetadata.brand).toEqual(SAMPLE_METADATA.brand);
    expect(ai.requests.map((r) => r.status)).toEqual([503, 429, 200]);
    const job = await queue.getJob(jobId);
    expect(job?.attemptsMade).toBe(3);
    expect(job?.opts.backoff).toEqual({ type: "exponential", delay: BACKOFF_MS });
  });

  test("the backoff waits at least base, then 2 x base (exponential, as BullMQ computes it)", async () => {
    ai.script({ kind: "error", status: 500 }, { kind: "error", status: 500 }, jsonReply(SAMPLE_METADATA));
    const started: number[] = [];
    const { assetId } = await submit();
    await eventually(() => ai.requests.length === 3, 15_000, "three attempts");
    for (const request of ai.requests) started.push(request.receivedAt);
    await settle(assetId);
    expect(started[1]! - started[0]!).toBeGreaterThanOrEqual(BACKOFF_MS);
    expect(started[2]! - started[1]!).toBeGreaterThanOrEqual(2 * BACKOFF_MS);
  });
});

describe("terminal failure", () => {
  test("three transient failures: failed with a human reason, one failure event per socket", async () => {
    ai.script({ kind: "error", status: 503 }, { kind: "error", status: 503 }, { kind: "error", status: 503 });
    const { assetId, jobId } = await submit();
    await settle(assetId);
    for (const socket of sockets) {
      const events = eventsFor(socket, assetId);
      expect(events).toHaveLength(1);
      const event = assetProcessedFailureSchema.strict().parse(events[0]);
      expect(event.error).toStartWith("AI service unavailable after 3 attempts");
    }
    const asset = await assetOf(stack.gatewayUrl, token, assetId);
    expect(asset.status).toBe("failed");
    expect(asset.aiMetadata.error).toStartWith("AI service unavailable after 3 attempts");
    expect(ai.requests).toHaveLength(3);
    const job = await queue.getJob(jobId);
    expect(await job?.getState()).toBe("failed");
    expect(job?.attemptsMade).toBe(3);
  });

  for (const status of [400, 401, 403]) {
    test(`a provider's ${status} is permanent: failed after one attempt`, async () => {
      ai.script({ kind: "error", status });
      const { assetId, jobId } = await submit();
      await settle(assetId);
      expect(ai.requests).toHaveLength(1);
      const asset = await assetOf(stack.gatewayUrl, token, assetId);
      expect(asset.status).toBe("failed");
      expect(asset.aiMetadata.error).toContain(String(status));
      expect((await queue.getJob(jobId))?.attemptsMade).toBe(1);
    });
  }

  test("a timed-out attempt is aborted (the provider sees the connection closed) and retried", async () => {
    ai.script(jsonReply(SAMPLE_METADATA, TIMEOUT_MS * 4), jsonReply(SAMPLE_METADATA));
    const { assetId, jobId } = await submit();
    await eventually(() => ai.requests.length >= 1, 10_000, "the slow request");
    expect(await ai.requests[0]!.clientClosed).toBe(true);
    await settle(assetId);
    expect((await assetOf(stack.gatewayUrl, token, assetId)).status).toBe("active");
    expect((await queue.getJob(jobId))?.attemptsMade).toBe(2);
  });

  test("timing out on every attempt ends failed with a timeout reason", async () => {
    ai.script(...Array.from({ length: 3 }, () => jsonReply(SAMPLE_METADATA, TIMEOUT_MS * 4)));
    const { assetId } = await submit();
    await settle(assetId);
    const asset = await assetOf(stack.gatewayUrl, token, assetId);
    expect(asset.status).toBe("failed");
    expect(asset.aiMetadata.error).toBe(`Processing timed out (${TIMEOUT_MS} ms per attempt) after 3 attempts`);
  });
});

describe("bad job data and bad images fail at once", () => {
  async function insertProcessingAsset(jobId: string, originalUrl: string) {
    const db = await stack.db();
    const id = new Types.ObjectId();
    await db.collection("assets").insertOne({
      _id: id,
      userId: new Types.ObjectId(user),
      category: "camera",
      status: "processing",
      images: { original: { url: originalUrl } },
      processingJobId: jobId,
      createdAt: new Date(),
      updatedAt: new Date(),
    });
    return id.toHexString();
  }

  test("job data failing the schema (non-HTTPS foreign URL): the Asset fails with the reason, no retries", async () => {
    const jobId = `bad-${Date.now()}`;
    const assetId = await insertProcessingAsset(jobId, "http://example.invalid/x.png");
    await queue.add(
      "analyze-asset",
      { assetId, userId: user, imageUrl: "http://example.invalid/x.png", category: "camera", createdAt: new Date().toISOString(), attempt: 0 },
      { jobId, attempts: 3 },
    );
    await settle(assetId);
    const asset = await assetOf(stack.gatewayUrl, token, assetId);
    expect(asset.status).toBe("failed");
    expect(asset.aiMetadata.error).toContain("imageUrl must be an HTTPS URL");
    const job = await queue.getJob(jobId);
    expect(await job?.getState()).toBe("failed");
    expect(job?.attemptsMade).toBe(1);
  });

  test("a stored original that does not decode: failed after one attempt", async () => {
    const name = `${crypto.randomUUID().replaceAll("-", "")}-original.png`;
    await Bun.write(`${stack.storageDir}/${name}`, "this is not an image");
    const url = `${stack.env.PUBLIC_URL}/media/${name}`;
    const jobId = `undecodable-${Date.now()}`;
    const assetId = await insertProcessingAsset(jobId, url);
    await queue.add(
      "analyze-asset",
      { assetId, userId: user, imageUrl: url, category: "camera", createdAt: new Date().toISOString(), attempt: 0 },
      { jobId, attempts: 3 },
    );
    await settle(assetId);
    expect((await assetOf(stack.gatewayUrl, token, assetId)).status).toBe("failed");
    expect((await queue.getJob(jobId))?.attemptsMade).toBe(1);
  });
});

describe("idempotency", () => {
  test("a job that runs again after finishing changes nothing and emits no second event", async () => {
    const { assetId, jobId } = await submit();
    await settle(assetId);
    const before = await assetOf(stack.gatewayUrl, token, assetId);
    // As after a crash between the update and the job's completion: the same job runs again.
    await (await queue.getJob(jobId))?.remove();
    const { data } = {
      data: { assetId, userId: user, imageUrl: before.images.original.url, category: "sneaker" as const, createdAt: new Date().toISOString(), attempt: 0 },
    };
    const rerun = await queue.add("analyze-asset", data, { jobId });
    await eventually(async () => (await rerun.getState()) === "completed", 15_000, "the re-run to complete");
    await Bun.sleep(400);
    for (const socket of sockets) expect(eventsFor(socket, assetId)).toHaveLength(1);
    expect(await assetOf(stack.gatewayUrl, token, assetId)).toEqual(before);
  });

  test("a stale job for an Asset now under another job id leaves it alone (status never moves backwards)", async () => {
    const { assetId } = await submit();
    await settle(assetId);
    const before = await assetOf(stack.gatewayUrl, token, assetId);
    const stale = await queue.add(
      "analyze-asset",
      { assetId, userId: user, imageUrl: before.images.original.url, category: "sneaker", createdAt: new Date().toISOString(), attempt: 0 },
      { jobId: `${assetId}-stale` },
    );
    await eventually(async () => (await stale.getState()) === "completed", 15_000, "the stale job to finish");
    expect(await assetOf(stack.gatewayUrl, token, assetId)).toEqual(before);
    for (const socket of sockets) expect(eventsFor(socket, assetId)).toHaveLength(1);
  });

  test("an outcome is keyed by its run, so publishing it twice delivers it once", async () => {
    const publisher = new ClientEvents(stack.redis(), stack.id);
    const assetId = new Types.ObjectId().toHexString();
    const payload = { event: ASSET_PROCESSED_EVENT, assetId, status: "failed" as const, error: "published twice", timestamp: new Date().toISOString() };
    const outcome = { userId: user, event: ASSET_PROCESSED_EVENT, payload, runId: runIdFor(assetId) };
    await publisher.emit(outcome);
    await eventually(() => sockets.every((socket) => eventsFor(socket, assetId).length === 1), 10_000, "the first publish's event");
    await publisher.emit(outcome);
    // Leave time for a duplicate to arrive before counting.
    await Bun.sleep(750);
    for (const socket of sockets) expect(eventsFor(socket, assetId)).toHaveLength(1);
    await publisher.close();
  });
});

describe("retry of a failed asset", () => {
  test("POST /api/assets/:id/retry re-queues it under a new job id; a new outcome follows", async () => {
    ai.script({ kind: "error", status: 401 });
    const { assetId, jobId } = await submit();
    await settle(assetId);
    expect((await assetOf(stack.gatewayUrl, token, assetId)).status).toBe("failed");

    ai.script(jsonReply(SAMPLE_METADATA));
    const response = await postJson(stack.gatewayUrl, `/api/assets/${assetId}/retry`, token);
    expect(response.status).toBe(202);
    const retried = await response.json();
    expect(retried).toEqual({ assetId, jobId: `${jobId}-r1`, status: "processing" });
    await eventually(() => eventsFor(sockets[0]!, assetId).length === 2, 20_000, "the retry's outcome");
    await Bun.sleep(400);
    for (const socket of sockets) expect(eventsFor(socket, assetId).map((e) => e.status)).toEqual(["failed", "active"]);
    const asset = await assetOf(stack.gatewayUrl, token, assetId);
    expect(asset.status).toBe("active");
    expect(asset.processingJobId).toBe(`${jobId}-r1`);
    expect(asset.aiMetadata.error).toBeUndefined();
    // The old failed job was cleared once the new run was queued.
    expect(await queue.getJob(jobId)).toBeUndefined();
  });

  test("retrying an Asset that is not failed is 409; someone else's is 404", async () => {
    const { assetId } = await submit();
    await settle(assetId);
    const conflict = await postJson(stack.gatewayUrl, `/api/assets/${assetId}/retry`, token);
    expect(conflict.status).toBe(409);
    expect((await conflict.json()).error.code).toBe("conflict");
    const foreign = await postJson(stack.gatewayUrl, `/api/assets/${assetId}/retry`, otherToken);
    expect(foreign.status).toBe(404);
  });
});

describe("dead-letter routes for operators", () => {
  test("GET /api/admin/jobs?state=failed is admin-only and lists reason, attempts and asset", async () => {
    ai.script({ kind: "error", status: 403 });
    const { assetId, jobId } = await submit();
    await settle(assetId);
    expect((await getJson(stack.gatewayUrl, "/api/admin/jobs?state=failed", token)).status).toBe(403);
    const response = await getJson(stack.gatewayUrl, "/api/admin/jobs?state=failed", adminToken);
    expect(response.status).toBe(200);
    const { items } = await response.json();
    const entry = items.find((item: { id: string }) => item.id === jobId);
    expect(entry).toMatchObject({ id: jobId, assetId, userId: user, attemptsMade: 1, attempts: 3 });
    expect(entry.failedReason).toContain("403");
  });

  test("POST /api/admin/jobs/:id/retry retries one failed job", async () => {
    ai.script({ kind: "error", status: 400 });
    const { assetId, jobId } = await submit();
    await settle(assetId);
    ai.script(jsonReply(SAMPLE_METADATA));
    expect((await postJson(stack.gatewayUrl, `/api/admin/jobs/${jobId}/retry`, token)).status).toBe(403);
    const response = await postJson(stack.gatewayUrl, `/api/admin/jobs/${jobId}/retry`, adminToken);
    expect(response.status).toBe(202);
    await waitForStatus(stack.gatewayUrl, token, assetId, "active");
    expect((await postJson(stack.gatewayUrl, "/api/admin/jobs/no-such-job/retry", adminToken)).status).toBe(404);
  });
});

describe("operators' view", () => {
  test("the worker's /metrics counts jobs by outcome and time per stage; ingest's, the backlog by state", async () => {
    const metrics = await (await fetch(`${stack.get("ai-worker").url}/metrics`)).text();
    expect(metrics).toMatch(/ai_jobs_total\{[^}]*outcome="completed"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/ai_jobs_total\{[^}]*outcome="failed"[^}]*\} [1-9]/);
    expect(metrics).toContain('stage="analysis"');
    const backlog = await (await fetch(`${stack.get("ingest").url}/metrics`)).text();
    expect(backlog).toMatch(/queue_jobs\{[^}]*queue="ai-processing"[^}]*state="failed"[^}]*\} [1-9]/);
    const ready = await (await fetch(`${stack.get("ai-worker").url}/readyz`)).json();
    expect(ready.checks).toEqual({ mongo: true, redis: true, worker: true });
  });
});
