/**
 * The stored job carries the specification's options (defaults) and exactly
 * the specification's data fields; enqueueing twice for one run makes one job. No
 * worker runs here, so the job stays as ingest queued it.
 */

import { afterAll, beforeAll, expect, test } from "bun:test";
import { AI_JOB_DEFAULTS, AI_QUEUE, runIdFor } from "@pipeline/messaging";

import { Queue } from "bullmq";
import { ZodError } from "zod";
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

test("a queued job has the specification's options and data fields", async () => {
  const response = await upload(stack.gatewayUrl, await tokenFor(user), {
    image: await productPhoto({ format: "webp" }),
    category: "lego",
    type: "image/webp",
  });
  expect(response.status).toBe(202);
  const { assetId, jobId } = await response.json();
  expect(jobId).toBe(runIdFor(assetId));
  const job = await queue.getJob(jobId);
  expect(job).toBeDefined();
  expect(job!.opts.attempts).toBe(3);
  expect(job!.opts.backoff).toEqual({ type: "exponential", delay: 2000 });
  expect(job!.opts.removeOnComplete).toEqual({ age: 86400 });
  expect(job!.opts.removeOnFail).toEqual({ age: 604800 });
  // The user's first job: the first round of the fair share.
  expect(job!.opts.priority).toBe(1);
  expect(Object.keys(job!.data).sort()).toEqual(["assetId", "attempt", "category", "createdAt", "imageUrl", "userId"]);
  expect(job!.data).toMatchObject({ assetId, userId: user, category: "lego", attempt: 0 });
  expect(job!.data.imageUrl).toStartWith(`${stack.env.PUBLIC_URL}/media/`);
  expect(new Date(job!.data.createdAt).toISOString()).toBe(job!.data.createdAt);

  // A second enqueue of the same run is a no-op.
  await queue.add("analyze-asset", job!.data, { jobId });
  const counts = await queue.getJobCounts("waiting", "prioritized", "active", "delayed", "completed", "failed");
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
});

test("the producer validates job data too: invalid data is never queued", async () => {
  const { AiJobProducer } = await import("../../services/ingest/src/queue.ts");
  const producer = new AiJobProducer(stack.redis(), stack.id, AI_JOB_DEFAULTS, `${stack.env.PUBLIC_URL}/media/`);
  const valid = {
    assetId: newUserId(),
    userId: user,
    imageUrl: "https://res.cloudinary.com/demo/image/upload/x.jpg",
    category: "camera" as const,
    createdAt: new Date().toISOString(),
    attempt: 0,
  };
  const invalid = [
    [{ ...valid, assetId: "42" }, "assetId"],
    [{ ...valid, userId: "someone" }, "userId"],
    [{ ...valid, imageUrl: "http://example.com/x.jpg" }, "imageUrl must be an HTTPS URL"],
    [{ ...valid, category: "spaceship" }, "category"],
  ] as const;
  // Each is refused by the job data schema, naming the field at fault.
  for (const [data, field] of invalid) {
    const refusal = await producer.enqueue(data as never, `invalid-${Math.random()}`).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(ZodError);
    expect((refusal as ZodError).issues.map((issue) => `${issue.path.join(".")} ${issue.message}`).join("; ")).toContain(field);
  }
  await producer.enqueue({ ...valid, imageUrl: `${stack.env.PUBLIC_URL}/media/${"a".repeat(32)}-original.png` }, "local-ok");
  expect(await queue.getJob("local-ok")).toBeDefined();
  const jobs = await queue.getJobs(["waiting", "delayed", "failed"]);
  expect(jobs.filter((job) => String(job.id).startsWith("invalid-"))).toHaveLength(0);
  await producer.close();
});
