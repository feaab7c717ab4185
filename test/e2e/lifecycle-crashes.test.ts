/**
 * A worker killed with SIGKILL mid-job has its job recovered by
 * another; SIGTERM finishes in-flight work, or hands it back past the
 * deadline; every service exits 0 on SIGTERM. Real child processes.
 */

import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { AI_QUEUE } from "@pipeline/messaging";

import { Queue } from "bullmq";
import { submitUpload } from "../helpers/api.ts";
import { productPhoto } from "../helpers/images.ts";
import { assetOf, eventsFor, waitForEvent } from "../helpers/outcomes.ts";
import { connectRecording, eventually, type RecordingSocket } from "../helpers/sockets.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";
import { jsonReply, type OpenAiStandIn, SAMPLE_METADATA, startOpenAiStandIn } from "../standins/openai.ts";

const LOCK_MS = 1000;
const STALLED_INTERVAL_MS = 500;
let stack: Stack;
let ai: OpenAiStandIn;
let queue: Queue;
const user = newUserId();
let token: string;
let sockets: RecordingSocket[];
let photo: Uint8Array;

beforeAll(async () => {
  ai = startOpenAiStandIn();
  stack = await Stack.start({
    services: ["ingest", "notifier", "gateway"],
    env: {
      ANALYZER: "openai",
      AI_BASE_URL: ai.url,
      JOB_BACKOFF_MS: "200",
      JOB_TIMEOUT_MS: "20000",
      WORKER_LOCK_MS: String(LOCK_MS),
      WORKER_STALLED_INTERVAL_MS: String(STALLED_INTERVAL_MS),
      WORKER_CONCURRENCY: "1",
    },
  });
  stack.onStop(ai);
  queue = stack.onStop(new Queue(AI_QUEUE, { connection: stack.redis(), prefix: stack.id }));
  token = await tokenFor(user);
  const notifier = stack.get("notifier").url;
  sockets = [stack.onStop(await connectRecording(notifier, token)), stack.onStop(await connectRecording(notifier, token, { transports: ["polling"] }))];
  photo = await productPhoto({ format: "jpeg" });
}, 60_000);

afterAll(() => stack?.stop());

beforeEach(() => {
  ai.requests.length = 0;
});

const submit = () => submitUpload(stack.gatewayUrl, token, photo, "sneaker", "image/jpeg");

async function expectOneSuccessEach(assetId: string) {
  for (const socket of sockets) await waitForEvent(socket, assetId);
  await Bun.sleep(500);
  for (const socket of sockets) {
    expect(eventsFor(socket, assetId)).toHaveLength(1);
    expect(eventsFor(socket, assetId)[0]!.status).toBe("active");
  }
  expect((await assetOf(stack.gatewayUrl, token, assetId)).status).toBe("active");
}

describe("a worker killed mid-job", () => {
  test("SIGKILL during the AI call: another worker recovers the job; one success event per socket", async () => {
    const doomed = await stack.add("ai-worker");
    ai.script(jsonReply(SAMPLE_METADATA, 10_000), jsonReply(SAMPLE_METADATA));
    const { assetId, jobId } = await submit();
    await eventually(() => ai.requests.length === 1, 15_000, "the first worker's AI call");
    doomed.proc.kill("SIGKILL");
    const killedAt = Date.now();
    await doomed.proc.exited;
    const rescuer = await stack.add("ai-worker");
    await eventually(() => ai.requests.length === 2, 15_000, "the job to be taken over");
    const recoveredAfterMs = ai.requests[1]!.receivedAt - killedAt;
    console.log(`killed worker's job taken over after ${recoveredAfterMs} ms (lock ${LOCK_MS} ms, stall check every ${STALLED_INTERVAL_MS} ms)`);
    // Not before the dead worker's lock expired.
    expect(recoveredAfterMs).toBeGreaterThanOrEqual(LOCK_MS - 100);
    await expectOneSuccessEach(assetId);
    expect(await (await queue.getJob(jobId))?.getState()).toBe("completed");
    await rescuer.proc.kill("SIGTERM");
    expect(await rescuer.proc.exited).toBe(0);
  });
});

describe("a job whose workers keep dying", () => {
  test("past WORKER_MAX_STALLED_COUNT it fails, and its Asset is marked failed with a reason and its owner told", async () => {
    const doomed = await stack.add("ai-worker");
    ai.script(jsonReply(SAMPLE_METADATA, 10_000));
    const { assetId } = await submit();
    await eventually(() => ai.requests.length === 1, 15_000, "the first worker's AI call");
    doomed.proc.kill("SIGKILL");
    await doomed.proc.exited;
    // This replica tolerates no stall: the dead worker's job fails at its next stall check.
    const strict = await stack.add("ai-worker", { WORKER_MAX_STALLED_COUNT: "0" });
    for (const socket of sockets) await waitForEvent(socket, assetId);
    await Bun.sleep(500);
    for (const socket of sockets) {
      expect(eventsFor(socket, assetId).map((e) => e.status)).toEqual(["failed"]);
    }
    const asset = await assetOf(stack.gatewayUrl, token, assetId);
    expect(asset.status).toBe("failed");
    expect(asset.aiMetadata.error).toContain("interrupted repeatedly");
    strict.proc.kill("SIGTERM");
    expect(await strict.proc.exited).toBe(0);
  });
});

describe("SIGTERM", () => {
  test("a worker finishes its in-flight job within the deadline and exits 0", async () => {
    const worker = await stack.add("ai-worker", { SHUTDOWN_TIMEOUT_MS: "15000" });
    ai.script(jsonReply(SAMPLE_METADATA, 1500));
    const { assetId, jobId } = await submit();
    await eventually(() => ai.requests.length === 1, 15_000, "the AI call");
    worker.proc.kill("SIGTERM");
    expect(await worker.proc.exited).toBe(0);
    // Finished, not abandoned: the job completed before the process left.
    expect(await (await queue.getJob(jobId))?.getState()).toBe("completed");
    await expectOneSuccessEach(assetId);
  });

  test("past the grace period a worker hands the job back unspent; another finishes it", async () => {
    const worker = await stack.add("ai-worker", { SHUTDOWN_TIMEOUT_MS: "2000" });
    ai.script(jsonReply(SAMPLE_METADATA, 15_000), jsonReply(SAMPLE_METADATA));
    const { assetId, jobId } = await submit();
    await eventually(() => ai.requests.length === 1, 15_000, "the AI call");
    worker.proc.kill("SIGTERM");
    expect(await worker.proc.exited).toBe(0);
    // The AI call was aborted, and the attempt was not counted.
    expect(await ai.requests[0]!.clientClosed).toBe(true);
    const job = await queue.getJob(jobId);
    expect(["delayed", "waiting"]).toContain(await job!.getState());
    expect(job!.attemptsMade).toBe(0);
    expect((await assetOf(stack.gatewayUrl, token, assetId)).status).toBe("processing");

    const next = await stack.add("ai-worker");
    await expectOneSuccessEach(assetId);
    next.proc.kill("SIGTERM");
    expect(await next.proc.exited).toBe(0);
  });

  test("gateway, ingest and notifier exit 0", async () => {
    for (const name of ["gateway", "ingest", "notifier"] as const) {
      const extra = await stack.add(name);
      extra.proc.kill("SIGTERM");
      expect(await extra.proc.exited).toBe(0);
    }
  });
});
