/** Which errors are worth a retry, and how a terminal failure is explained to the user. */
import { PermanentError, RetryLaterError } from "@pipeline/runtime/errors";
import { UnreadableImageError } from "@pipeline/vision";
import { UnrecoverableError } from "bullmq";
import { ZodError } from "zod";

/** The step a run was in when it failed, to name the part that was unavailable. */
export type Stage = "validating" | "loading" | "downloading" | "background" | "analysis" | "storing" | "saving" | "publishing";

const STAGE_NAMES: Record<Stage, string> = {
  validating: "Job data",
  loading: "Database",
  downloading: "Image storage",
  background: "Background removal service",
  analysis: "AI service",
  storing: "Image storage",
  saving: "Database",
  publishing: "Event queue",
};

export class AttemptTimeoutError extends Error {
  override name = "AttemptTimeoutError";
  constructor(readonly ms: number) {
    super(`attempt timed out after ${ms} ms`);
  }
}

export function isPermanent(error: unknown): boolean {
  return error instanceof PermanentError || error instanceof UnreadableImageError || error instanceof UnrecoverableError || error instanceof ZodError;
}

/** The reason stored in `aiMetadata.error` and sent in the failure event. */
export function failureReason(error: unknown, stage: Stage, attempts: number): string {
  const detail = error instanceof Error ? error.message : String(error);
  if (isPermanent(error)) return `${STAGE_NAMES[stage]} rejected the job: ${detail}`;
  if (error instanceof AttemptTimeoutError) return `Processing timed out (${error.ms} ms per attempt) after ${plural(attempts)}`;
  return `${STAGE_NAMES[stage]} unavailable after ${plural(attempts)} (${detail})`;
}

const plural = (attempts: number) => `${attempts} attempt${attempts === 1 ? "" : "s"}`;

/**
 * How long to delay a job, without spending an attempt, that an upstream asked
 * to call again later: the asked delay when it ends within the job's
 * remaining time (its attempts' combined time limit since it was queued),
 * else null and the failure counts as an attempt like any other.
 */
export function unspentDelay(error: unknown, job: { timestamp: number; opts: { attempts?: number } }, timeoutMs: number, now = Date.now()): number | null {
  if (!(error instanceof RetryLaterError)) return null;
  const remaining = job.timestamp + (job.opts.attempts ?? 1) * timeoutMs - now;
  return error.delayMs <= remaining ? error.delayMs : null;
}
