/**
 * The `ai-processing` job handler: download the original, remove the
 * background, extract metadata, store the cut-out, set the Asset `active`,
 * publish the outcome. Failures retry (transient) or fail at once
 * (permanent); the last failure sets the Asset `failed` and tells its owner.
 * A re-analysis (by its job name) of an Asset that has results keeps them
 * until its own replace them; if it fails, they stay and the reason is
 * recorded, and the Asset keeps its status.
 */

import type { AssetStore } from "@pipeline/assets";
import { describeZodError } from "@pipeline/contracts/errors";
import { type JobData, jobDataSchemaFor } from "@pipeline/contracts/jobs";
import { type ClientEvents, handBack, isReanalysisJob, type JobContext } from "@pipeline/messaging";
import { PermanentError } from "@pipeline/runtime/errors";
import type { Logger } from "@pipeline/runtime/logger";
import { withSpan } from "@pipeline/runtime/tracing";
import type { ImageStorage } from "@pipeline/storage";
import { type Job, UnrecoverableError } from "bullmq";
import { withAttemptSignal } from "../attempt.ts";
import { failureReason, isPermanent, type Stage, unspentDelay } from "../failures.ts";
import type { WorkerMetrics } from "../metrics.ts";
import { publishOutcome } from "../outcomes.ts";
import type { ProgressReporter, RunProgress } from "../progress.ts";
import type { BackgroundRemover, MetadataAnalyzer } from "../providers.ts";

export interface ProcessAssetDeps {
  repository: Pick<AssetStore, "findById" | "markActive" | "markFailed" | "markReanalyzed" | "markReanalysisFailed">;
  storage: ImageStorage;
  remover: BackgroundRemover;
  analyzer: MetadataAnalyzer;
  events: Pick<ClientEvents, "emit">;
  /** Stage reports to the owner's sockets and the job. */
  progress: ProgressReporter;
  metrics: WorkerMetrics;
  logger: Logger;
  timeoutMs: number;
  /** The storage's own plain-HTTP base: the one non-HTTPS imageUrl allowed. */
  plainHttpBase?: string;
}

/** A run outside a worker (unit tests): never shut down. */
const UNMANAGED: JobContext = { token: undefined, shutdown: new AbortController().signal };

export function processAssetJob(deps: ProcessAssetDeps) {
  const schema = jobDataSchemaFor(deps.plainHttpBase);
  /** One step of a run: timed for the stage histogram and traced as a span of the job's trace. */
  const step = <T>(name: string, run: () => Promise<T>) => withSpan(`stage ${name}`, () => deps.metrics.time(name, run));

  return deps.metrics.timeRuns(async function processAsset(job: Job<JobData>, context: JobContext = UNMANAGED): Promise<{ status: string }> {
    // `shutdown` fires at the worker's grace deadline: in-flight attempts are handed back, not counted as failures.
    const { token, shutdown } = context;
    const jobId = job.id as string;
    const attemptNumber = job.attemptsMade + 1;
    const log = deps.logger.child({ jobId, assetId: (job.data as Partial<JobData>)?.assetId, attempt: attemptNumber });
    let stage: Stage = "validating";
    let progress: RunProgress | undefined;
    try {
      const data = schema.safeParse(job.data);
      if (!data.success) throw new PermanentError(`invalid job data: ${describeZodError(data.error)}`);
      const { assetId } = data.data;

      stage = "loading";
      const asset = await deps.repository.findById(assetId);
      if (!asset) throw new PermanentError(`asset ${assetId} does not exist`);
      if (asset.processingJobId !== jobId) {
        log.info({ current: asset.processingJobId }, "job superseded by a newer run; skipping");
        return { status: "superseded" };
      }
      // The re-analysis of an Asset with results names its run; a failed Asset's re-analysis is a retry and runs as a first run does.
      const reanalysis = isReanalysisJob(job) && asset.reanalysis?.jobId === jobId;
      if (reanalysis && asset.reanalysis?.state !== "queued") {
        // This re-analysis settled already (a crash after the update, a duplicate): its success went out, once.
        stage = "publishing";
        if (asset.reanalysis?.state === "completed") await publishOutcome(deps.events, asset, jobId);
        log.info({ reanalysis: asset.reanalysis?.state }, "re-analysis already settled");
        return { status: asset.status ?? "active" };
      }
      if (!reanalysis && asset.status !== "processing") {
        // This run already finished (a crash after the update, a duplicate): make sure its outcome went out, once.
        stage = "publishing";
        await publishOutcome(deps.events, asset, jobId);
        log.info({ status: asset.status }, "asset already final; outcome re-published idempotently");
        return { status: asset.status };
      }
      // `attempt` is the 0-based number of the current attempt: written on retries only, so a first run saves a round trip.
      if (job.attemptsMade > 0) await job.updateData({ ...data.data, attempt: job.attemptsMade }).catch(() => undefined);

      const run = deps.progress({ jobId, ...data.data }, log);
      progress = run;
      const result = await withAttemptSignal(deps.timeoutMs, shutdown, async (signal) => {
        stage = "downloading";
        run.report("downloading");
        const original = await step("download", () => deps.storage.load(data.data.imageUrl, signal));
        stage = "background";
        run.report("removing_background");
        const cutout = await step("background", () => deps.remover.remove({ original, originalUrl: data.data.imageUrl, signal }));
        stage = "analysis";
        run.report("analyzing");
        // How sure the remover is of its mask: a guessed cut-out makes the colours it yields less certain.
        const cutoutConfidence = cutout.confidence;
        const metadata = await step("analysis", () =>
          deps.analyzer.analyze({
            original,
            cutout: cutout.png,
            category: data.data.category,
            signal,
            ...(cutoutConfidence === undefined ? {} : { cutoutConfidence }),
          }),
        );
        stage = "storing";
        run.report("storing");
        // A hosted remover's cut-out is already delivered by the storage: no second upload.
        const processedUrl =
          cutout.storedUrl ?? (await step("store", () => deps.storage.save(cutout.png, { kind: "processed", contentType: "image/png", signal }))).url;
        return { processedUrl, metadata, source: deps.analyzer.source };
      });

      stage = "saving";
      await run.settled();
      const final = reanalysis ? await deps.repository.markReanalyzed(assetId, jobId, result) : await deps.repository.markActive(assetId, jobId, result);
      if (!final) {
        // Deleted, superseded or finished elsewhere meanwhile: this run's cut-out belongs to no Asset.
        await deps.storage.remove(result.processedUrl).catch((error) => log.warn({ err: error }, "orphaned cut-out not removed"));
        log.info("asset moved on while this run worked (deleted, superseded or finished elsewhere); result dropped");
        return { status: "superseded" };
      }
      const replaced = asset.images?.processed?.url;
      if (reanalysis && replaced && replaced !== result.processedUrl) {
        await deps.storage.remove(replaced).catch((error) => log.warn({ err: error }, "replaced cut-out not removed"));
      }
      stage = "publishing";
      await publishOutcome(deps.events, final, jobId);
      deps.metrics.jobs.inc({ outcome: "completed" });
      log.info({ status: final.status }, "job completed");
      return { status: final.status };
    } catch (error) {
      if (shutdown.aborted && !isPermanent(error)) {
        // Hand the job back without spending an attempt; another replica (or this one, restarted) takes it.
        log.info({ stage }, "worker shutting down; job handed back");
        return handBack(job, token, 0);
      }
      const delayMs = unspentDelay(error, job, deps.timeoutMs);
      if (delayMs !== null) {
        // Retry-After: a rate-limit window is waited out, not spent on attempts that cannot succeed.
        log.info({ stage, delayMs, err: error }, "upstream asked to retry later; job delayed without spending an attempt");
        return handBack(job, token, delayMs);
      }
      if (stage === "publishing" && !isPermanent(error) && job.attemptsStarted <= (job.opts.attempts ?? 1) + MAX_PUBLISH_HAND_BACKS) {
        // The Asset is final; only telling its owner failed. Run again, unspent: the next run finds it final and publishes.
        log.warn({ err: error }, "outcome not published; job handed back to publish again");
        return handBack(job, token, PUBLISH_RETRY_MS);
      }
      const permanent = isPermanent(error);
      const last = permanent || attemptNumber >= (job.opts.attempts ?? 1);
      log.warn({ err: error, stage, permanent, last }, "attempt failed");
      if (last) {
        await progress?.settled();
        try {
          await finalizeFailure(deps, job, failureReason(error, stage, attemptNumber), log);
        } catch (finalizeError) {
          // Marked failed (or not) but not told: run again, unspent, so the owner hears of it.
          log.warn({ err: finalizeError }, "terminal failure not recorded or published; job handed back");
          return handBack(job, token, PUBLISH_RETRY_MS);
        }
      }
      if (permanent) throw new UnrecoverableError(error instanceof Error ? error.message : String(error));
      throw error;
    }
  });
}

/**
 * A re-analysis that failed for good: an Asset with results keeps them and its status, the reason
 * is recorded, and no event goes out (nothing changed for its owner). False when the Asset had
 * no results (a failed Asset's re-analysis is a retry: it fails as a first run does).
 */
async function settleFailedReanalysis(deps: Pick<ProcessAssetDeps, "repository" | "metrics">, assetId: string, jobId: string, reason: string, log: Logger) {
  if (await deps.repository.markReanalysisFailed(assetId, jobId, reason)) {
    deps.metrics.jobs.inc({ outcome: "failed" });
    log.warn({ reason }, "re-analysis failed for good; the asset keeps its results");
    return true;
  }
  // Recorded already (an earlier call for this run): nothing more to do.
  const asset = await deps.repository.findById(assetId);
  return asset?.reanalysis?.jobId === jobId;
}

/** How long a job whose outcome could not be published waits before it runs again. */
const PUBLISH_RETRY_MS = 1000;
/** Unspent runs given to a publish that keeps failing (about a minute); then it fails like any attempt. */
const MAX_PUBLISH_HAND_BACKS = 60;

/**
 * Terminal failure: the Asset becomes `failed` with the reason and its owner
 * is told once. Idempotent, so the worker's `failed` listener can call it too
 * (jobs that failed by stalling never reach the handler's catch).
 */
export async function finalizeFailure(deps: Pick<ProcessAssetDeps, "repository" | "events" | "metrics">, job: Job, reason: string, log: Logger): Promise<void> {
  const jobId = job.id as string;
  const assetId = (job.data as Partial<JobData> | undefined)?.assetId;
  if (typeof assetId !== "string") return;
  if (isReanalysisJob(job) && (await settleFailedReanalysis(deps, assetId, jobId, reason, log))) return;
  const changed = await deps.repository.markFailed(assetId, jobId, reason);
  // Already failed (an earlier call for this run): publish again, idempotently, in case that call died before publishing.
  const asset = changed ?? (await deps.repository.findById(assetId).catch(() => null));
  // Final under this run: failed (now or by an earlier call), or active with its success never published
  // (the run stalled while publishing). Publishing is keyed by the job id, so a second publish is a no-op.
  if (asset?.status !== "failed" && asset?.status !== "active") return;
  // Publish only for the run whose outcome this is (or a run the Asset never recorded, with broken data).
  if (asset.processingJobId && asset.processingJobId !== jobId) return;
  await publishOutcome(deps.events, asset, jobId);
  if (changed) {
    deps.metrics.jobs.inc({ outcome: "failed" });
    log.warn({ reason }, "job failed for good; asset marked failed");
  }
}
