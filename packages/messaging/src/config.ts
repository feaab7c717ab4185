/** The AI job's settings from the environment: the specification's values by default, each overridable (tests run with small ones). */
import { nonNegativeInt, positiveInt } from "@pipeline/runtime/config";
import { z } from "zod";

/** The specification's job options. */
export const AI_JOB_DEFAULTS = {
  attempts: 3,
  backoffMs: 2000,
  timeoutMs: 120_000,
  removeOnCompleteS: 86_400,
  removeOnFailS: 604_800,
} as const;

export type AiJobSettings = { -readonly [K in keyof typeof AI_JOB_DEFAULTS]: number };

export const aiJobConfigSchema = z.object({
  /** Total tries per AI job (the job's `attempts`, set by ingest when it queues it). */
  JOB_ATTEMPTS: positiveInt(AI_JOB_DEFAULTS.attempts),
  /** Exponential backoff base between tries, in ms (the job's `backoff.delay`). */
  JOB_BACKOFF_MS: nonNegativeInt(AI_JOB_DEFAULTS.backoffMs),
  /** Limit of one try, in ms, enforced by the ai-worker: its I/O is aborted when it passes. */
  JOB_TIMEOUT_MS: positiveInt(AI_JOB_DEFAULTS.timeoutMs),
  /** How long a completed job is kept in Redis, in seconds (`removeOnComplete.age`). */
  JOB_REMOVE_ON_COMPLETE_S: positiveInt(AI_JOB_DEFAULTS.removeOnCompleteS),
  /** How long a failed job is kept in Redis, in seconds (`removeOnFail.age`). */
  JOB_REMOVE_ON_FAIL_S: positiveInt(AI_JOB_DEFAULTS.removeOnFailS),
});
export type AiJobConfig = z.infer<typeof aiJobConfigSchema>;

export function aiJobSettings(config: AiJobConfig): AiJobSettings {
  return {
    attempts: config.JOB_ATTEMPTS,
    backoffMs: config.JOB_BACKOFF_MS,
    timeoutMs: config.JOB_TIMEOUT_MS,
    removeOnCompleteS: config.JOB_REMOVE_ON_COMPLETE_S,
    removeOnFailS: config.JOB_REMOVE_ON_FAIL_S,
  };
}
