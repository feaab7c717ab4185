/**
 * Queue names, job options and connections, shared by the producer (ingest),
 * the worker (ai-worker) and the outcome consumers (notifier).
 */
import { Redis, type RedisOptions } from "ioredis";
import { z } from "zod";
import { baseConfigSchema, nonNegativeInt, positiveInt } from "./config.ts";

/** The seed's queue of AI jobs. */
export const AI_QUEUE = "ai-processing";
/** Outcomes (success or terminal failure) on their way to the notifiers; each is taken by one notifier. */
export const OUTCOME_QUEUE = "asset-outcomes";

/** The seed's job options; every number can be overridden from the environment. */
export const jobConfigSchema = z.object({
  JOB_ATTEMPTS: positiveInt(3),
  JOB_BACKOFF_MS: nonNegativeInt(2000),
  JOB_TIMEOUT_MS: positiveInt(120_000),
  JOB_REMOVE_ON_COMPLETE_S: positiveInt(86_400),
  JOB_REMOVE_ON_FAIL_S: positiveInt(604_800),
});
export type JobConfig = z.infer<typeof jobConfigSchema>;

export const queueConfigSchema = baseConfigSchema.extend(jobConfigSchema.shape);

export function aiJobOptions(config: JobConfig) {
  return {
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: "exponential" as const, delay: config.JOB_BACKOFF_MS },
    removeOnComplete: { age: config.JOB_REMOVE_ON_COMPLETE_S },
    removeOnFail: { age: config.JOB_REMOVE_ON_FAIL_S },
  };
}

/** Outcomes are retried for a while (no notifier may be up) and kept an hour so a duplicate publish is dropped. */
export const OUTCOME_JOB_OPTIONS = {
  attempts: 10,
  backoff: { type: "exponential" as const, delay: 500 },
  removeOnComplete: { age: 3600 },
  removeOnFail: { age: 604_800 },
};

/**
 * The AI job id of an asset: the asset id on the first run, `<assetId>-r<n>`
 * after the n-th retry, so enqueueing twice makes one job and a retry never
 * collides with the failed job BullMQ still keeps.
 */
export function aiJobIdFor(assetId: string, previousJobId?: string | null): string {
  if (!previousJobId) return assetId;
  const match = /-r(\d+)$/.exec(previousJobId);
  return `${assetId}-r${match ? Number(match[1]) + 1 : 1}`;
}

/** One outcome per AI job id: publishing it twice is a no-op. */
export function outcomeJobIdFor(aiJobId: string): string {
  return `outcome-${aiJobId}`;
}

/**
 * A Redis connection for BullMQ. Workers need `maxRetriesPerRequest: null`
 * (they block and must survive reconnects); producers fail fast instead so an
 * HTTP request can answer 503 rather than hang while Redis is down.
 */
export function redisConnection(url: string, role: "worker" | "producer", extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: role === "worker" ? null : 1,
    enableOfflineQueue: role === "worker",
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...extra,
  });
}
