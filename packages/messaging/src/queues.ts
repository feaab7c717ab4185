/**
 * Every queue of the pipeline in one table: its name, its job names, the
 * options its jobs are added with and the lock its workers hold. Producers
 * and workers take these from here; nothing else knows a queue's options.
 */
import type { PipelineQueue } from "@pipeline/contracts/admin";
import type { RedisClient } from "@pipeline/runtime/redis";
import { Queue } from "bullmq";
import type { AiJobSettings } from "./config.ts";
import { EVENT_MARKER_TTL_S } from "./markers.ts";

/** The queue of AI jobs (the specification's name). */
export const AI_QUEUE = "ai-processing" satisfies PipelineQueue;
/** Final client events (outcomes, deletions) on their way to the sockets' stream; each is taken by one notifier. */
export const OUTCOME_QUEUE = "asset-outcomes" satisfies PipelineQueue;
/** Webhook fan-outs and deliveries (the notifier produces and consumes them). */
export const WEBHOOK_QUEUE = "webhook-deliveries" satisfies PipelineQueue;

export const AI_JOB_NAME = "analyze-asset";
/**
 * A run again on an Asset that has results (or had a failed run): the same job data, under this
 * name, so the worker keeps the current results until the new ones are in, and the fair share
 * queues it below new uploads.
 */
export const REANALYZE_JOB_NAME = "reanalyze-asset";

/** Whether an `ai-processing` job is a re-analysis (by its name; the job data is the specification's alone). */
export function isReanalysisJob(job: { name: string }): boolean {
  return job.name === REANALYZE_JOB_NAME;
}
export const FAN_OUT_JOB = "fan-out";
export const DELIVER_JOB = "deliver";

/** BullMQ options of an AI job: the specification's, from configuration (the timeout is the worker's: BullMQ has none). */
export function aiJobOptions(settings: Omit<AiJobSettings, "timeoutMs">) {
  return {
    attempts: settings.attempts,
    backoff: { type: "exponential" as const, delay: settings.backoffMs },
    removeOnComplete: { age: settings.removeOnCompleteS },
    removeOnFail: { age: settings.removeOnFailS },
  };
}

/**
 * Outcomes are retried for a while (no notifier may be up) and removed once done: a repeated publish makes a
 * new job, whose write the event's marker (EVENT_MARKER_TTL_S) turns into a no-op, and whose fan-out is
 * dropped by the fan-out's id. Kept, each would cost about 1.8 KB of Redis per asset for nothing.
 */
export const OUTCOME_JOB_OPTIONS = {
  attempts: 10,
  backoff: { type: "exponential" as const, delay: 500 },
  removeOnComplete: true,
  removeOnFail: { age: 604_800 },
};

/**
 * Fan-outs retry for a while (MongoDB may be down) and are kept as long as the event's marker: an event is
 * handed to the fan-out again only within that time (a duplicate write), so a repeat makes no second fan-out.
 */
export const FAN_OUT_JOB_OPTIONS = {
  attempts: 10,
  backoff: { type: "exponential" as const, delay: 1000 },
  removeOnComplete: { age: EVENT_MARKER_TTL_S },
  removeOnFail: { age: 604_800 },
};

export interface DeliverySettings {
  attempts: number;
  backoffMs: number;
}

/**
 * Webhook deliveries retry with exponential backoff: the defaults (14 tries, 10 s) span 10 s x (2^13 - 1) ≈ 22.7 h.
 * A finished one is kept as long as the event's marker, so a repeated fan-out (possible only within that time)
 * finds it and queues no second delivery; its record stays in the database.
 */
export function deliveryJobOptions(settings: DeliverySettings) {
  return {
    attempts: settings.attempts,
    backoff: { type: "exponential" as const, delay: settings.backoffMs },
    removeOnComplete: { age: EVENT_MARKER_TTL_S },
    removeOnFail: { age: 604_800 },
  };
}

/** A worker's lock: how long it lasts unrenewed, how often stalled jobs are looked for, and how often a job may stall. */
export interface LockSettings {
  durationMs: number;
  stalledIntervalMs?: number;
  maxStalledCount?: number;
}

/**
 * An outcome takes milliseconds: a short lock lets a dead replica's outcomes be taken over within
 * seconds, and an outcome is never failed for stalling (writing it is idempotent, so a retry is safe).
 */
export const outcomeLock = (lockMs: number): LockSettings => ({ durationMs: lockMs, stalledIntervalMs: lockMs, maxStalledCount: 1000 });

/** A webhook attempt lasts at most its timeout (plus DNS and bookkeeping): the lock is kept well past it. */
export const webhookLock = (attemptTimeoutMs: number): LockSettings => ({ durationMs: attemptTimeoutMs + 30_000 });

/** A job's hash as BullMQ keeps it (`<prefix>:<queue>:<id>`), for a script that sets one of its fields with another write. */
export const jobKeyOf = (prefix: string, queue: PipelineQueue, jobId: string) => `${prefix}:${queue}:${jobId}`;

/** A handle on one of the pipeline's queues (producers, the admin routes, metrics). */
export function openQueue<D = unknown>(name: PipelineQueue, connection: RedisClient, prefix: string): Queue<D> {
  return new Queue<D>(name, { connection, prefix });
}
