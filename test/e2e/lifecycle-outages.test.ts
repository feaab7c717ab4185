/**
 * Dependencies down. Each test owns its Redis or FerretDB, stops it
 * mid-run and starts it again; uploads meanwhile get 503 and never leave an
 * Asset `processing`; afterwards every service recovers without a restart
 * and no accepted job is lost.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Types } from "mongoose";
import { getJson, upload } from "../helpers/api.ts";
import { productPhoto } from "../helpers/images.ts";
import { eventsFor, waitForStatus } from "../helpers/outcomes.ts";
import { privateFerretDb, privateRedis, type RestartableServer } from "../helpers/private-servers.ts";
import { connectRecording, eventually, type RecordingSocket } from "../helpers/sockets.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";
import { jsonReply, type OpenAiStandIn, SAMPLE_METADATA, startOpenAiStandIn } from "../standins/openai.ts";

let photo: Uint8Array;
beforeAll(async () => {
  photo = await productPhoto({ format: "png" });
});

async function uploadUntilAccepted(stack: Stack, token: string, timeoutMs = 20_000): Promise<{ assetId: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await upload(stack.gatewayUrl, token, { image: photo, category: "camera" });
    if (response.status === 202) return response.json();
    expect(response.status).toBe(503);
    if (Date.now() > deadline) throw new Error("uploads were not accepted again");
    await Bun.sleep(250);
  }
}

describe("Redis outage (a private redis-server restarted mid-run)", () => {
  let redis: RestartableServer;
  let stack: Stack;
  let ai: OpenAiStandIn;
  let socket: RecordingSocket;
  const user = newUserId();
  let token: string;

  beforeAll(async () => {
    redis = await privateRedis();
    ai = startOpenAiStandIn();
    stack = await Stack.start({
      env: { REDIS_URL: redis.url, ANALYZER: "openai", AI_BASE_URL: ai.url, JOB_BACKOFF_MS: "200", WORKER_LOCK_MS: "2000", WORKER_STALLED_INTERVAL_MS: "1000" },
    });
    token = await tokenFor(user);
    socket = await connectRecording(stack.get("notifier").url, token, { reconnection: true });
  }, 60_000);
  afterAll(async () => {
    socket?.close();
    await stack?.stop();
    await redis?.dispose();
    await ai?.stop();
  });

  test("jobs in flight survive, uploads during the outage get 503, the worker consumes again afterwards", async () => {
    // Two jobs in flight (slow AI answers) when Redis goes away.
    ai.script(jsonReply(SAMPLE_METADATA, 2500), jsonReply(SAMPLE_METADATA, 2500));
    const before = [await uploadUntilAccepted(stack, token), await uploadUntilAccepted(stack, token)];
    await eventually(() => ai.requests.length >= 1, 10_000, "a job in flight");
    await redis.stop();

    const during = await upload(stack.gatewayUrl, token, { image: photo, category: "camera" });
    expect(during.status).toBe(503);
    expect((await during.json()).error.code).toBe("unavailable");
    await Bun.sleep(4000);
    await redis.start();

    const after = [await uploadUntilAccepted(stack, token), await uploadUntilAccepted(stack, token)];
    for (const { assetId } of [...before, ...after]) await waitForStatus(stack.gatewayUrl, token, assetId, "active", 45_000);
    await eventually(() => [...before, ...after].every(({ assetId }) => eventsFor(socket, assetId).length >= 1), 30_000, "every outcome delivered");
    for (const { assetId } of [...before, ...after]) expect(eventsFor(socket, assetId)).toHaveLength(1);

    // The upload refused during the outage left no Asset processing.
    const db = await stack.db();
    const stuck = await db.collection("assets").countDocuments({ userId: new Types.ObjectId(user), status: "processing" });
    expect(stuck).toBe(0);
  }, 120_000);
});

describe("MongoDB outage (a private FerretDB stopped and started)", () => {
  let ferret: RestartableServer;
  let stack: Stack;
  const user = newUserId();
  let token: string;

  beforeAll(async () => {
    ferret = await privateFerretDb("outage");
    stack = await Stack.start({ env: { MONGO_URL: ferret.url } });
    token = await tokenFor(user);
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await ferret?.dispose();
  });

  test("uploads and reads get 503 while it is down; everything recovers without a restart", async () => {
    const first = await uploadUntilAccepted(stack, token);
    await waitForStatus(stack.gatewayUrl, token, first.assetId, "active");
    await ferret.stop();

    const refused = await upload(stack.gatewayUrl, token, { image: photo, category: "camera" });
    expect(refused.status).toBe(503);
    expect((await refused.json()).error.code).toBe("unavailable");
    const read = await getJson(stack.gatewayUrl, `/api/assets/${first.assetId}`, token);
    expect(read.status).toBe(503);
    expect((await fetch(`${stack.get("ingest").url}/readyz`)).status).toBe(503);

    await ferret.start();
    const second = await uploadUntilAccepted(stack, token, 30_000);
    await waitForStatus(stack.gatewayUrl, token, second.assetId, "active", 30_000);
    expect((await fetch(`${stack.get("ingest").url}/readyz`)).status).toBe(200);
  }, 120_000);
});
