/**
 * Re-analysis over a real stack: an owner's one Asset (active: it keeps serving its results until
 * the new ones replace them; a failed run records its error and changes nothing else; failed: it is
 * retried), an admin's filtered, bounded and resumable set, and uploads arriving during a bulk
 * re-analysis, which run first. The analyzer is the OpenAI stand-in, scripted per test; one worker
 * slot and JOB_ATTEMPTS=1, so a scripted error fails a run at once and orders are the queue's.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient } from "@pipeline/client";
import type { BulkReanalysis } from "@pipeline/contracts/admin";
import { Types } from "mongoose";
import { postJson, setAiQueuePaused, submitUpload } from "../helpers/api.ts";
import { productPhoto } from "../helpers/images.ts";
import { assetOf, eventsFor, waitForStatus } from "../helpers/outcomes.ts";
import { connectRecording, eventually, type RecordingSocket } from "../helpers/sockets.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";
import { analyzerEnv, jsonReply, type OpenAiStandIn, SAMPLE_METADATA, startOpenAiStandIn } from "../standins/openai.ts";

let stack: Stack;
let ai: OpenAiStandIn;
let adminToken: string;
let photo: Uint8Array;
const owner = newUserId();
let ownerToken: string;
let socket: RecordingSocket;

const BETTER = {
  brand: { value: "Nike", confidence: 0.97 },
  model: { value: "Air Jordan 1 Retro High OG", confidence: 0.9 },
  colorway: { value: "Chicago", confidence: 0.8 },
};

beforeAll(async () => {
  ai = startOpenAiStandIn({ apiKey: "test-key" });
  stack = await Stack.start({
    env: {
      ...analyzerEnv(ai, "test-key"),
      WORKER_CONCURRENCY: "1",
      JOB_ATTEMPTS: "1",
      RATE_LIMIT_PER_MINUTE: "100000",
      UPLOAD_RATE_LIMIT_PER_MINUTE: "100000",
    },
  });
  stack.onStop(ai);
  adminToken = await tokenFor(newUserId(), { role: "admin" });
  ownerToken = await tokenFor(owner);
  socket = stack.onStop(await connectRecording(stack.get("notifier").url, ownerToken));
  photo = await productPhoto({ format: "png", size: 96 });
}, 60_000);
afterAll(() => stack?.stop());

const reanalyze = (assetId: string, token = ownerToken) => postJson(stack.gatewayUrl, `/api/assets/${assetId}/reanalyze`, token);
const setPaused = async (paused: boolean) => expect(await setAiQueuePaused(stack.gatewayUrl, adminToken, paused)).toBe(true);

async function activeUpload(token = ownerToken, category: "sneaker" | "lego" = "sneaker") {
  const { assetId } = await submitUpload(stack.gatewayUrl, token, photo, category);
  await waitForStatus(stack.gatewayUrl, token, assetId, "active");
  return assetId;
}

describe("one Asset, by its owner", () => {
  test("an active Asset serves its results while re-analysed, then the new ones, with asset_processed again", async () => {
    const assetId = await activeUpload();
    const before = await assetOf(stack.gatewayUrl, ownerToken, assetId);
    expect(before.aiMetadata).toMatchObject(SAMPLE_METADATA);
    ai.script(jsonReply(BETTER, 1500));

    const client = createClient({ baseUrl: stack.gatewayUrl, token: ownerToken });
    const accepted = await client.reanalyze(assetId);
    expect(accepted).toEqual({ assetId, jobId: `${assetId}-r1`, status: "active" });
    // Asked again while queued: the same run.
    expect(await (await reanalyze(assetId)).json()).toEqual(accepted);

    const during = await assetOf(stack.gatewayUrl, ownerToken, assetId);
    expect(during.status).toBe("active");
    expect(during.aiMetadata).toMatchObject(SAMPLE_METADATA);
    expect(during.images.processed.url).toBe(before.images.processed.url);
    expect(during.reanalysis).toMatchObject({ jobId: accepted.jobId, state: "queued" });

    await eventually(() => eventsFor(socket, assetId).length === 2, 30_000, "a second asset_processed");
    const event = eventsFor(socket, assetId)[1];
    expect(event).toMatchObject({ status: "active", aiMetadata: BETTER });
    const after = await assetOf(stack.gatewayUrl, ownerToken, assetId);
    expect(after.status).toBe("active");
    expect(after.aiMetadata).toMatchObject(BETTER);
    expect(after.images.processed.url).not.toBe(before.images.processed.url);
    expect(after.reanalysis).toMatchObject({ jobId: accepted.jobId, state: "completed" });
    // The replaced cut-out is gone; the new one is served.
    expect((await fetch(before.images.processed.url)).status).toBe(404);
    expect((await fetch(after.images.processed.url)).status).toBe(200);
  }, 60_000);

  test("a failed re-analysis keeps the results and the status, and records why", async () => {
    const assetId = await activeUpload();
    const before = await assetOf(stack.gatewayUrl, ownerToken, assetId);
    ai.script({ kind: "error", status: 400, message: "model retired" });
    const { jobId } = await (await reanalyze(assetId)).json();
    await eventually(async () => (await assetOf(stack.gatewayUrl, ownerToken, assetId)).reanalysis?.state === "failed", 30_000, "re-analysis failed");
    const after = await assetOf(stack.gatewayUrl, ownerToken, assetId);
    expect(after.status).toBe("active");
    expect(after.aiMetadata).toEqual(before.aiMetadata);
    expect(after.images).toEqual(before.images);
    expect(after.reanalysis).toMatchObject({ jobId, state: "failed" });
    expect(after.reanalysis.error).toContain("model retired");
    // Only the first run's event: a failed re-analysis changes nothing its owner sees.
    expect(eventsFor(socket, assetId)).toHaveLength(1);
    // It can be asked again.
    expect((await reanalyze(assetId)).status).toBe(202);
    await eventually(async () => (await assetOf(stack.gatewayUrl, ownerToken, assetId)).reanalysis?.state === "completed", 30_000, "re-analysis completed");
  }, 60_000);

  test("a failed Asset is retried: back to processing, then active", async () => {
    ai.script({ kind: "error", status: 400, message: "bad luck" });
    const { assetId } = await submitUpload(stack.gatewayUrl, ownerToken, photo);
    await waitForStatus(stack.gatewayUrl, ownerToken, assetId, "failed");
    const response = await reanalyze(assetId);
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ assetId, jobId: `${assetId}-r1`, status: "processing" });
    const after = await waitForStatus(stack.gatewayUrl, ownerToken, assetId, "active");
    expect(after.aiMetadata).toMatchObject(SAMPLE_METADATA);
  }, 60_000);

  test("another user's Asset is 404; a processing one is 409", async () => {
    const assetId = await activeUpload();
    expect((await reanalyze(assetId, await tokenFor(newUserId()))).status).toBe(404);
    expect((await reanalyze("65f1c0ffee0123456789abcd")).status).toBe(404);
    await setPaused(true);
    try {
      const { assetId: waiting } = await submitUpload(stack.gatewayUrl, ownerToken, photo);
      const conflict = await reanalyze(waiting);
      expect(conflict.status).toBe(409);
      expect((await conflict.json()).error.code).toBe("conflict");
    } finally {
      await setPaused(false);
    }
  }, 60_000);
});

describe("a filtered set, by an admin", () => {
  const bulk = (body: unknown, token = adminToken) => postJson(stack.gatewayUrl, "/api/admin/reanalyze", token, body);

  test("only the matching Assets are re-analysed, a bounded page at a time, resumed by cursor", async () => {
    const user = newUserId();
    const token = await tokenFor(user);
    const legos = [await activeUpload(token, "lego"), await activeUpload(token, "lego"), await activeUpload(token, "lego")];
    const sneaker = await activeUpload(token, "sneaker");
    const cutoff = new Date().toISOString();
    // Nothing was analysed by another model, or before the epoch.
    expect(await (await bulk({ filter: { model: "another-model" } })).json()).toMatchObject({ queued: 0, nextCursor: null });
    expect(await (await bulk({ filter: { processedBefore: "2000-01-01T00:00:00Z" } })).json()).toMatchObject({ queued: 0, nextCursor: null });

    const filter = { category: "lego", status: "active", processedBefore: cutoff, analyzer: "openai", model: "stand-in-vision" };
    const first = (await (await bulk({ filter, limit: 2 })).json()) as BulkReanalysis;
    expect(first.queued).toBe(2);
    expect(first.nextCursor).not.toBeNull();
    const second = (await (await bulk({ filter, limit: 2, cursor: first.nextCursor })).json()) as BulkReanalysis;
    expect(second).toMatchObject({ queued: 1, skipped: 0, nextCursor: null });
    const queued = [...first.jobs, ...second.jobs].map((job) => job.assetId).sort();
    // Legos of earlier tests' users are not this user's: only this user's are compared.
    expect(queued.filter((id) => legos.includes(id))).toEqual([...legos].sort());
    for (const assetId of legos) {
      await eventually(async () => (await assetOf(stack.gatewayUrl, token, assetId)).reanalysis?.state === "completed", 30_000, "lego re-analysed");
    }
    expect((await assetOf(stack.gatewayUrl, token, sneaker)).reanalysis).toBeUndefined();
  }, 90_000);

  test("bad requests are 400, users are 403", async () => {
    expect((await bulk({ filter: { category: "car" } })).status).toBe(400);
    expect((await bulk({ limit: 100_000 })).status).toBe(400);
    expect((await bulk({ cursor: "nope" })).status).toBe(400);
    // Twelve characters pass ObjectId.isValid (as raw bytes) but are no nextCursor: refused, not read as "from the start".
    expect((await bulk({ cursor: "abcdefghijkl" })).status).toBe(400);
    expect((await bulk({ filter: { status: "processing" } })).status).toBe(400);
    expect((await bulk({}, ownerToken)).status).toBe(403);
  });

  test("uploads arriving during a bulk re-analysis run before it", async () => {
    const heavy = newUserId();
    const heavyToken = await tokenFor(heavy);
    const old = [];
    for (let i = 0; i < 4; i++) old.push(await activeUpload(heavyToken, "lego"));
    await setPaused(true);
    let uploads: string[] = [];
    try {
      const answer = (await (await bulk({ filter: { category: "lego" }, limit: 1000 })).json()) as BulkReanalysis;
      expect(answer.jobs.map((job) => job.assetId)).toEqual(expect.arrayContaining(old));
      // The same user and another one upload while the re-analysis waits.
      const other = await tokenFor(newUserId());
      uploads = [
        (await submitUpload(stack.gatewayUrl, heavyToken, photo)).assetId,
        (await submitUpload(stack.gatewayUrl, other, photo)).assetId,
        (await submitUpload(stack.gatewayUrl, heavyToken, photo)).assetId,
      ];
    } finally {
      await setPaused(false);
    }
    const assets = (await stack.db()).collection("assets");
    await eventually(async () => (await assets.countDocuments({ "reanalysis.state": "queued" })) === 0, 60_000, "bulk re-analysis done");
    const finishedAt = async (id: string) => {
      const asset = await assets.findOne({ _id: new Types.ObjectId(id) });
      return new Date(asset?.aiMetadata?.processedAt ?? 0).getTime();
    };
    const lastUpload = Math.max(...(await Promise.all(uploads.map(finishedAt))));
    const firstReanalysis = Math.min(...(await Promise.all(old.map(finishedAt))));
    expect(lastUpload).toBeLessThan(firstReanalysis);
  }, 120_000);
});
