/**
 * Issue 3: the stored job carries the seed's options (defaults) and exactly
 * the seed's data fields; enqueueing twice for one run makes one job. No
 * worker runs here, so the job stays as ingest queued it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { AI_QUEUE, aiJobIdFor } from "@pipeline/contracts";
import { Queue } from "bullmq";
import { upload } from "../helpers/api.ts";
import { productPhoto } from "../helpers/images.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";

let stack: Stack;
let queue: Queue;
const user = newUserId();

beforeAll(async () => {
  stack = await Stack.start({ services: ["ingest", "gateway"] });
  queue = new Queue(AI_QUEUE, { connection: stack.redis(), prefix: stack.id });
});
afterAll(async () => {
  await queue?.close();
  await stack?.stop();
});

test("a queued job has the seed's options and data fields", async () => {
  const response = await upload(stack.gatewayUrl, await tokenFor(user), { image: await productPhoto({ format: "webp" }), category: "lego", type: "image/webp" });
  expect(response.status).toBe(202);
  const { assetId, jobId } = await response.json();
  expect(jobId).toBe(aiJobIdFor(assetId));
  const job = await queue.getJob(jobId);
  expect(job).toBeDefined();
  expect(job!.opts.attempts).toBe(3);
  expect(job!.opts.backoff).toEqual({ type: "exponential", delay: 2000 });
  expect(job!.opts.removeOnComplete).toEqual({ age: 86400 });
  expect(job!.opts.removeOnFail).toEqual({ age: 604800 });
  expect(Object.keys(job!.data).sort()).toEqual(["assetId", "attempt", "category", "createdAt", "imageUrl", "userId"]);
  expect(job!.data).toMatchObject({ assetId, userId: user, category: "lego", attempt: 0 });
  expect(job!.data.imageUrl).toStartWith(`${stack.env.PUBLIC_URL}/media/`);
  expect(new Date(job!.data.createdAt).toISOString()).toBe(job!.data.createdAt);

  // A second enqueue of the same run is a no-op.
  await queue.add("analyze-asset", job!.data, { jobId });
  const counts = await queue.getJobCounts("waiting", "active", "delayed", "completed", "failed");
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
});
