import { describe, expect, test } from "bun:test";
import type { ProgressStage } from "@pipeline/contracts/asset";
import { assetProcessedFailureSchema, assetProcessedSuccessSchema } from "@pipeline/contracts/events";
import { PermanentError, RetryLaterError, TransientError } from "@pipeline/runtime/errors";
import { DelayedError, UnrecoverableError } from "bullmq";
import { ObjectId } from "mongodb";
import { AttemptTimeoutError } from "../failures.ts";
import {
  asBullJob,
  CUTOUT_BYTES,
  FakeAnalyzer,
  FakeRemover,
  jobCounts,
  jobDataFor,
  METADATA,
  makeAsset,
  makeDeps,
  makeJob,
  ORIGINAL_BYTES,
  ORIGINAL_URL,
  PROCESSED_BASE,
  rejectionOf,
  removerWaitingOnSignal,
  type TestDeps,
} from "./fakes.test-helpers.ts";
import { finalizeFailure, processAssetJob } from "./process-asset.ts";

/** A `processing` Asset whose job id is its own id (a first run), stored in `deps`, and that run's job. */
function firstRun(deps: TestDeps, job: { attemptsMade?: number; attempts?: number } = {}) {
  const asset = deps.repository.add(makeAsset());
  const assetId = asset._id.toHexString();
  return { asset, assetId, job: makeJob({ id: assetId, data: jobDataFor(asset), ...job }) };
}

describe("processAssetJob: success", () => {
  test("sets the Asset active with the cut-out and metadata, and publishes one success payload", async () => {
    const deps = makeDeps();
    const { asset, assetId, job } = firstRun(deps);

    const result = await processAssetJob(deps)(asBullJob(job));

    expect(result).toEqual({ status: "active" });
    const stored = deps.repository.get(assetId);
    expect(stored?.status).toBe("active");
    expect(stored?.images?.processed?.url).toBe(`${PROCESSED_BASE}1.png`);
    expect(stored?.aiMetadata?.brand).toEqual(METADATA.brand);

    expect(deps.events.published).toHaveLength(1);
    const [published] = deps.events.published;
    expect(published?.jobId).toBe(`outcome-${assetId}`);
    expect(published?.job.userId).toBe(asset.userId.toHexString());
    const payload = assetProcessedSuccessSchema.parse(published?.job.payload);
    expect(payload).toMatchObject({ assetId, status: "active", aiMetadata: METADATA, processedImageUrl: `${PROCESSED_BASE}1.png` });
  });

  test("passes the original to the remover, the cut-out to the analyzer and stores the cut-out as a PNG", async () => {
    const deps = makeDeps();
    const { job } = firstRun(deps);

    await processAssetJob(deps)(asBullJob(job));

    expect(deps.storage.loaded).toEqual([ORIGINAL_URL]);
    expect(deps.remover.calls[0]?.original).toBe(ORIGINAL_BYTES);
    expect(deps.analyzer.calls[0]).toMatchObject({ original: ORIGINAL_BYTES, cutout: CUTOUT_BYTES, category: "sneaker" });
    expect(deps.storage.saved).toHaveLength(1);
    expect(deps.storage.saved[0]?.bytes).toBe(CUTOUT_BYTES);
    expect(deps.storage.saved[0]?.options).toMatchObject({ kind: "processed", contentType: "image/png" });
  });

  test("a retry records its 0-based attempt number in the job data and counts the job completed", async () => {
    const deps = makeDeps();
    const { job } = firstRun(deps, { attemptsMade: 1 });

    await processAssetJob(deps)(asBullJob(job));

    expect(job.updates.map((data) => data.attempt)).toEqual([1]);
    expect(await jobCounts(deps)).toEqual({ completed: 1 });
  });

  test("a first run leaves the job data as queued (attempt 0): no extra round trip", async () => {
    const deps = makeDeps();
    const { job } = firstRun(deps, { attemptsMade: 0 });

    await processAssetJob(deps)(asBullJob(job));

    expect(job.updates).toEqual([]);
    expect(await jobCounts(deps)).toEqual({ completed: 1 });
  });
});

describe("processAssetJob: runs that must not change the Asset", () => {
  test("a superseded job (the Asset names a newer job id) does nothing", async () => {
    const deps = makeDeps();
    const _id = new ObjectId();
    const assetId = _id.toHexString();
    const asset = deps.repository.add(makeAsset({ _id, processingJobId: `${assetId}-r1` }));
    const job = makeJob({ id: assetId, data: jobDataFor(asset) });

    const result = await processAssetJob(deps)(asBullJob(job));

    expect(result).toEqual({ status: "superseded" });
    expect(deps.remover.calls).toHaveLength(0);
    expect(deps.events.published).toHaveLength(0);
    expect(deps.repository.get(assetId)).toMatchObject({ status: "processing", processingJobId: `${assetId}-r1` });
  });

  test("an Asset already final re-publishes the same outcome under the same id, without processing again", async () => {
    const deps = makeDeps();
    const { assetId, job } = firstRun(deps);
    const handler = processAssetJob(deps);
    await handler(asBullJob(job));
    const storedAfterFirstRun = deps.repository.get(assetId);

    const again = await handler(asBullJob(makeJob({ id: assetId, data: jobDataFor(storedAfterFirstRun!) })));

    expect(again).toEqual({ status: "active" });
    expect(deps.remover.calls).toHaveLength(1);
    expect(deps.events.published).toHaveLength(2);
    expect(deps.events.published[1]).toEqual(deps.events.published[0]!);
    expect(deps.repository.get(assetId)?.updatedAt).toEqual(storedAfterFirstRun!.updatedAt);
  });

  test("an Asset failed by this run re-publishes its failure payload", async () => {
    const deps = makeDeps();
    const asset = deps.repository.add(makeAsset({ status: "failed", aiMetadata: { error: "AI service unavailable after 3 attempts (boom)" } }));
    const job = makeJob({ id: asset._id.toHexString(), data: jobDataFor(asset) });

    await processAssetJob(deps)(asBullJob(job));

    const payload = assetProcessedFailureSchema.parse(deps.events.published[0]?.job.payload);
    expect(payload.error).toBe("AI service unavailable after 3 attempts (boom)");
    expect(deps.remover.calls).toHaveLength(0);
  });
});

describe("processAssetJob: failures", () => {
  test("invalid job data throws UnrecoverableError and marks the Asset failed with the reason", async () => {
    const deps = makeDeps();
    const { asset, assetId } = firstRun(deps);
    const job = makeJob({ id: assetId, data: jobDataFor(asset, { imageUrl: "http://elsewhere.test/photo.jpg" }) });

    const error = await rejectionOf(processAssetJob(deps)(asBullJob(job)));

    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toBe("invalid job data: imageUrl: imageUrl must be an HTTPS URL");
    expect(deps.repository.get(assetId)).toMatchObject({
      status: "failed",
      aiMetadata: { error: "Job data rejected the job: invalid job data: imageUrl: imageUrl must be an HTTPS URL" },
    });
    expect(deps.events.published).toHaveLength(1);
    expect(assetProcessedFailureSchema.parse(deps.events.published[0]?.job.payload).assetId).toBe(assetId);
    expect(deps.remover.calls).toHaveLength(0);
  });

  test("job data without a usable assetId fails unrecoverably and touches nothing", async () => {
    const deps = makeDeps();
    const { asset, assetId } = firstRun(deps);
    const job = makeJob({ id: assetId, data: jobDataFor(asset, { assetId: "not-an-id" }) });

    const error = await rejectionOf(processAssetJob(deps)(asBullJob(job)));

    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toContain("assetId: must be a 24-hex ObjectId");
    expect(deps.repository.get(assetId)?.status).toBe("processing");
    expect(deps.events.published).toHaveLength(0);
  });

  test("a job for an Asset that does not exist fails unrecoverably", async () => {
    const deps = makeDeps();
    const missing = makeAsset();
    const job = makeJob({ id: missing._id.toHexString(), data: jobDataFor(missing) });

    const error = await rejectionOf(processAssetJob(deps)(asBullJob(job)));

    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toBe(`asset ${missing._id.toHexString()} does not exist`);
    expect(deps.events.published).toHaveLength(0);
  });

  test("a transient error before the last attempt is rethrown, publishes nothing and leaves the Asset processing", async () => {
    const unavailable = new TransientError("background service answered 503");
    const deps = makeDeps({ remover: new FakeRemover(async () => Promise.reject(unavailable)) });
    const { assetId, job } = firstRun(deps, { attemptsMade: 0, attempts: 3 });

    const error = await rejectionOf(processAssetJob(deps)(asBullJob(job)));

    expect(error).toBe(unavailable);
    expect(deps.repository.get(assetId)?.status).toBe("processing");
    expect(deps.events.published).toHaveLength(0);
    expect(await jobCounts(deps)).toEqual({});
  });

  test("a transient error on the last attempt marks the Asset failed and publishes the failure once", async () => {
    const unavailable = new TransientError("background service answered 503");
    const deps = makeDeps({ remover: new FakeRemover(async () => Promise.reject(unavailable)) });
    const { assetId, job } = firstRun(deps, { attemptsMade: 2, attempts: 3 });

    const error = await rejectionOf(processAssetJob(deps)(asBullJob(job)));

    expect(error).toBe(unavailable);
    const reason = "Background removal service unavailable after 3 attempts (background service answered 503)";
    expect(deps.repository.get(assetId)).toMatchObject({ status: "failed", aiMetadata: { error: reason } });
    expect(deps.events.published).toHaveLength(1);
    expect(deps.events.published[0]?.jobId).toBe(`outcome-${assetId}`);
    expect(assetProcessedFailureSchema.parse(deps.events.published[0]?.job.payload)).toMatchObject({ assetId, status: "failed", error: reason });
    expect(await jobCounts(deps)).toEqual({ failed: 1 });
  });

  test("a permanent analyzer error fails the job at once, on the first attempt", async () => {
    const deps = makeDeps({ analyzer: new FakeAnalyzer(async () => Promise.reject(new PermanentError("openai answered 400: bad image"))) });
    const { assetId, job } = firstRun(deps, { attemptsMade: 0, attempts: 3 });

    const error = await rejectionOf(processAssetJob(deps)(asBullJob(job)));

    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toBe("openai answered 400: bad image");
    expect(deps.repository.get(assetId)).toMatchObject({
      status: "failed",
      aiMetadata: { error: "AI service rejected the job: openai answered 400: bad image" },
    });
    expect(deps.events.published).toHaveLength(1);
  });

  test("a Retry-After within the job's remaining time delays the job without spending an attempt, even its last", async () => {
    const deps = makeDeps({
      timeoutMs: 10_000,
      analyzer: new FakeAnalyzer(async () => Promise.reject(new RetryLaterError("openai answered 429: slow down", 4000))),
    });
    const { assetId, job } = firstRun(deps, { attemptsMade: 2, attempts: 3 });
    const before = Date.now();

    expect(await rejectionOf(processAssetJob(deps)(asBullJob(job)))).toBeInstanceOf(DelayedError);
    expect(job.delayedTo).toHaveLength(1);
    expect(job.delayedTo[0]!.timestamp - before).toBeGreaterThanOrEqual(4000);
    expect(job.delayedTo[0]!.timestamp - before).toBeLessThan(5000);
    expect(deps.repository.get(assetId)?.status).toBe("processing");
    expect(deps.events.published).toHaveLength(0);
  });

  test("a Retry-After beyond the job's remaining time is spent as an ordinary attempt", async () => {
    const deps = makeDeps({
      timeoutMs: 1000,
      analyzer: new FakeAnalyzer(async () => Promise.reject(new RetryLaterError("openai answered 429: slow down", 60_000))),
    });
    const { assetId, job } = firstRun(deps, { attemptsMade: 2, attempts: 3 });

    expect(await rejectionOf(processAssetJob(deps)(asBullJob(job)))).toBeInstanceOf(RetryLaterError);
    expect(job.delayedTo).toHaveLength(0);
    expect(deps.repository.get(assetId)?.status).toBe("failed");
  });

  test("the stored Asset records where its metadata came from", async () => {
    const deps = makeDeps();
    const { assetId, job } = firstRun(deps);
    await processAssetJob(deps)(asBullJob(job));
    expect(deps.repository.get(assetId)?.aiMetadata?.source).toEqual({ analyzer: "openai", model: "fake-model", calibrated: false });
  });

  test("an attempt that outlives timeoutMs is aborted and, on the last attempt, fails with a timed-out reason", async () => {
    const deps = makeDeps({ timeoutMs: 15, remover: removerWaitingOnSignal() });
    const { assetId, job } = firstRun(deps, { attemptsMade: 2, attempts: 3 });

    const error = await rejectionOf(processAssetJob(deps)(asBullJob(job)));

    expect(error).toBeInstanceOf(AttemptTimeoutError);
    expect(deps.remover.calls[0]?.signal.aborted).toBe(true);
    expect(deps.repository.get(assetId)?.aiMetadata?.error).toBe("Processing timed out (15 ms per attempt) after 3 attempts");
    expect(assetProcessedFailureSchema.parse(deps.events.published[0]?.job.payload).error).toContain("timed out");
    expect(deps.events.published).toHaveLength(1);
  });

  test("at shutdown the job is handed back with moveToDelayed and DelayedError, even on its last attempt", async () => {
    const shutdown = new AbortController();
    const deps = makeDeps({ remover: removerWaitingOnSignal() });
    const { assetId, job } = firstRun(deps, { attemptsMade: 2, attempts: 3 });

    const running = processAssetJob(deps)(asBullJob(job), { token: "lock-token", shutdown: shutdown.signal });
    while (deps.remover.calls.length === 0) await Bun.sleep(1);
    const before = Date.now();
    shutdown.abort(new Error("worker shutting down"));
    const error = await rejectionOf(running);

    expect(error).toBeInstanceOf(DelayedError);
    expect(job.delayedTo).toHaveLength(1);
    expect(job.delayedTo[0]?.token).toBe("lock-token");
    expect(job.delayedTo[0]?.timestamp).toBeGreaterThanOrEqual(before);
    expect(deps.repository.get(assetId)?.status).toBe("processing");
    expect(deps.events.published).toHaveLength(0);
  });
});

describe("processAssetJob: the outcome queue failing", () => {
  test("a publish error before the last attempt hands the job back unspent; the next run finds the Asset final and publishes", async () => {
    const deps = makeDeps();
    deps.events.failures.push(new TransientError("Connection is closed."));
    const { assetId, job } = firstRun(deps, { attemptsMade: 0, attempts: 3 });
    const handler = processAssetJob(deps);

    const error = await rejectionOf(handler(asBullJob(job)));
    expect(error).toBeInstanceOf(DelayedError);
    expect(job.delayedTo).toHaveLength(1);
    expect(deps.repository.get(assetId)?.status).toBe("active");
    expect(deps.events.published).toHaveLength(0);

    await handler(asBullJob(makeJob({ id: assetId, data: jobDataFor(deps.repository.get(assetId)!), attemptsMade: 1 })));
    expect(deps.events.published).toHaveLength(1);
    expect(deps.remover.calls).toHaveLength(1);
  });

  test("a publish error on the last attempt after the Asset became active hands the job back; the next run tells the owner", async () => {
    const deps = makeDeps();
    deps.events.failures.push(new TransientError("Connection is closed."));
    const { assetId, job } = firstRun(deps, { attemptsMade: 2, attempts: 3 });

    expect(await rejectionOf(processAssetJob(deps)(asBullJob(job)))).toBeInstanceOf(DelayedError);
    expect(deps.repository.get(assetId)?.status).toBe("active");
    expect(job.delayedTo).toHaveLength(1);
    expect(deps.events.published).toHaveLength(0);

    await processAssetJob(deps)(asBullJob(job));
    expect(deps.events.published).toHaveLength(1);
    expect(assetProcessedSuccessSchema.parse(deps.events.published[0]!.job.payload).assetId).toBe(assetId);
  });

  test("a publish error while finalizing a failure on the last attempt hands the job back; the next run tells the owner", async () => {
    const deps = makeDeps({ remover: new FakeRemover(async () => Promise.reject(new TransientError("background service answered 503"))) });
    deps.events.failures.push(new TransientError("Connection is closed."));
    const { assetId, job } = firstRun(deps, { attemptsMade: 2, attempts: 3 });

    expect(await rejectionOf(processAssetJob(deps)(asBullJob(job)))).toBeInstanceOf(DelayedError);
    expect(deps.repository.get(assetId)?.status).toBe("failed");
    expect(job.delayedTo).toHaveLength(1);

    await processAssetJob(deps)(asBullJob(job));
    expect(deps.events.published).toHaveLength(1);
    expect(assetProcessedFailureSchema.parse(deps.events.published[0]!.job.payload).error).toContain("Background removal service unavailable after 3 attempts");
  });
});

describe("finalizeFailure", () => {
  const log = makeDeps().logger;

  test("marks the Asset failed and publishes once; a second call re-publishes without counting again", async () => {
    const deps = makeDeps();
    const { assetId, job } = firstRun(deps);

    await finalizeFailure(deps, asBullJob(job), "Processing was interrupted repeatedly", log);
    await finalizeFailure(deps, asBullJob(job), "Processing was interrupted repeatedly", log);

    expect(deps.repository.get(assetId)).toMatchObject({ status: "failed", aiMetadata: { error: "Processing was interrupted repeatedly" } });
    expect(deps.events.published.map((p) => p.jobId)).toEqual([`outcome-${assetId}`, `outcome-${assetId}`]);
    expect(await jobCounts(deps)).toEqual({ failed: 1 });
  });

  test("does not fail or announce an Asset that a newer run owns", async () => {
    const deps = makeDeps();
    const _id = new ObjectId();
    const assetId = _id.toHexString();
    const asset = deps.repository.add(makeAsset({ _id, status: "failed", processingJobId: `${assetId}-r1`, aiMetadata: { error: "newer run's reason" } }));
    const job = makeJob({ id: assetId, data: jobDataFor(asset) });

    await finalizeFailure(deps, asBullJob(job), "older run's reason", log);

    expect(deps.repository.get(assetId)?.aiMetadata?.error).toBe("newer run's reason");
    expect(deps.events.published).toHaveLength(0);
  });

  test("never fails an active Asset; re-publishes its success under the same outcome id (a stall while publishing)", async () => {
    const deps = makeDeps();
    const { assetId, job } = firstRun(deps);
    await processAssetJob(deps)(asBullJob(job));

    await finalizeFailure(deps, asBullJob(job), "late failure", log);

    expect(deps.repository.get(assetId)?.status).toBe("active");
    expect(deps.events.published).toHaveLength(2);
    expect(deps.events.published[1]).toEqual(deps.events.published[0]!);
    expect(assetProcessedSuccessSchema.parse(deps.events.published[1]!.job.payload).status).toBe("active");
  });

  test("a publish that keeps failing is handed back a bounded number of times, then fails like any attempt", async () => {
    const deps = makeDeps();
    deps.events.failures.push(new TransientError("Connection is closed."));
    const { assetId, job } = firstRun(deps, { attemptsMade: 0, attempts: 3 });
    job.attemptsStarted = 1000;

    expect(await rejectionOf(processAssetJob(deps)(asBullJob(job)))).toBeInstanceOf(TransientError);
    expect(job.delayedTo).toHaveLength(0);
    expect(deps.repository.get(assetId)?.status).toBe("active");
  });

  test("ignores a job whose data names no asset", async () => {
    const deps = makeDeps();
    const job = makeJob({ id: new ObjectId().toHexString(), data: {} as never });

    await finalizeFailure(deps, asBullJob(job), "whatever", log);

    expect(deps.events.published).toHaveLength(0);
  });
});

describe("processAssetJob: progress and deletion", () => {
  test("reports the four stages in order to the owner's sockets (the job's progress goes with each), all before the outcome is published", async () => {
    const deps = makeDeps();
    const { asset, assetId, job } = firstRun(deps);

    await processAssetJob(deps)(asBullJob(job));

    const stages: ProgressStage[] = ["downloading", "removing_background", "analyzing", "storing"];
    const sent = deps.progressStream.emitted;
    expect(sent.map((e) => ("stage" in e.payload ? e.payload.stage : null))).toEqual(stages);
    expect(sent.map((e) => ("progress" in e.payload ? e.payload.progress : null))).toEqual([10, 30, 60, 85]);
    expect(sent.map((e) => e.event)).toEqual(stages.map(() => "asset_progress"));
    expect(sent.every((e) => e.userId === asset.userId.toHexString() && "assetId" in e.payload && e.payload.assetId === assetId)).toBe(true);
    expect(deps.events.published).toHaveLength(1);
  });

  test("a report that fails is dropped: the run still completes and publishes its outcome", async () => {
    const deps = makeDeps();
    deps.progressStream.emit = async () => {
      throw new Error("redis down");
    };
    const { job } = firstRun(deps);

    expect(await processAssetJob(deps)(asBullJob(job))).toEqual({ status: "active" });
    expect(deps.events.published).toHaveLength(1);
  });

  test("an Asset deleted while its run worked: nothing is published and the run's cut-out is removed from storage", async () => {
    const deps = makeDeps();
    const { assetId, job } = firstRun(deps);
    // The owner deletes it while the analyzer runs.
    deps.analyzer.calls.length = 0;
    const analyzer = new FakeAnalyzer(async () => {
      deps.repository.assets.delete(assetId);
      return METADATA;
    });

    const result = await processAssetJob({ ...deps, analyzer })(asBullJob(job));

    expect(result).toEqual({ status: "superseded" });
    expect(deps.events.published).toHaveLength(0);
    expect(deps.storage.removed).toEqual([`${PROCESSED_BASE}1.png`]);
  });
});
