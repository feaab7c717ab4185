/** The admin API's wire shapes: AI jobs as operators see them (the dead-letter set) and retrying them, the queues' state and controls, and the dashboard's session. */
import { z } from "zod";
import { acceptedSchema } from "./asset.ts";

export const JOB_STATES = ["failed", "waiting", "active", "delayed", "completed"] as const;
export const jobStateSchema = z.enum(JOB_STATES);
export type JobState = z.infer<typeof jobStateSchema>;

/** One AI job: its asset and user (null when its data lacks them), why it failed, and its attempts. */
export const jobSummarySchema = z
  .object({
    id: z.string().optional(),
    assetId: z.string().nullable(),
    userId: z.string().nullable(),
    failedReason: z.string().nullable(),
    attemptsMade: z.number().int().min(0),
    attempts: z.number().int().min(0),
    createdAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: "JobSummary" });
export type JobSummary = z.infer<typeof jobSummarySchema>;

export const jobListSchema = z.object({ state: jobStateSchema, items: z.array(jobSummarySchema) }).meta({ id: "JobList" });
export type JobList = z.infer<typeof jobListSchema>;

/** A retried job: through its Asset (a new run, like an asset retry), or the job itself back to waiting. */
export const jobRetriedSchema = z.union([acceptedSchema, z.object({ jobId: z.string(), status: z.literal("waiting") })]).meta({ id: "JobRetried" });
export type JobRetried = z.infer<typeof jobRetriedSchema>;

/**
 * Every queue of the pipeline by name, as operators see and control them (dashboard and /api/admin/queues);
 * `ai-processing` is the specification's. What each carries and its options: @pipeline/messaging's queues.ts.
 */
export const PIPELINE_QUEUES = ["ai-processing", "asset-outcomes", "webhook-deliveries"] as const;
export const pipelineQueueSchema = z.enum(PIPELINE_QUEUES);
export type PipelineQueue = z.infer<typeof pipelineQueueSchema>;

const jobCount = z.number().int().min(0);
/** A queue's jobs per state (BullMQ's `getJobCounts`). */
export const queueCountsSchema = z
  .object({
    waiting: jobCount,
    active: jobCount,
    delayed: jobCount,
    prioritized: jobCount,
    "waiting-children": jobCount,
    paused: jobCount,
    completed: jobCount,
    failed: jobCount,
  })
  .meta({ id: "QueueCounts" });
export type QueueCounts = z.infer<typeof queueCountsSchema>;

/** A worker connected to a queue, from Redis's client list. */
export const queueWorkerSchema = z
  .object({
    name: z.string().nullable().meta({ description: "The worker's `name` option, when it was given one" }),
    addr: z.string().meta({ description: "Its address as Redis sees it (host:port)" }),
    ageS: z.number().int().min(0).meta({ description: "Seconds connected" }),
    idleS: z.number().int().min(0).meta({ description: "Seconds since its last command" }),
  })
  .meta({ id: "QueueWorker" });
export type QueueWorker = z.infer<typeof queueWorkerSchema>;

export const queueStatusSchema = z
  .object({
    name: pipelineQueueSchema,
    paused: z.boolean(),
    globalConcurrency: z.number().int().positive().nullable().meta({ description: "Jobs in flight across all its workers at most; null: no cap" }),
    counts: queueCountsSchema,
    workers: z.array(queueWorkerSchema),
  })
  .meta({ id: "QueueStatus" });
export type QueueStatus = z.infer<typeof queueStatusSchema>;

export const queueListSchema = z.object({ queues: z.array(queueStatusSchema) }).meta({ id: "QueueList" });
export type QueueList = z.infer<typeof queueListSchema>;

/** `PUT /api/admin/queues/:name/concurrency`: a cap on the queue's jobs in flight across every worker, or null to lift it. */
export const queueConcurrencySchema = z.object({ concurrency: z.number().int().min(1).max(10_000).nullable() }).meta({ id: "QueueConcurrency" });
export type QueueConcurrency = z.infer<typeof queueConcurrencySchema>;

export const RETRY_FAILED_DEFAULT_LIMIT = 100;
export const RETRY_FAILED_MAX_LIMIT = 1000;

/** The answer to retrying failed jobs in bulk: how many went again, how many were left as they are, how many are still failed. */
export const retriedFailedSchema = z
  .object({
    retried: z.number().int().min(0),
    skipped: z.number().int().min(0).meta({ description: "Failed AI jobs whose Asset is no longer failed (retried, deleted) or whose data is invalid" }),
    remaining: z.number().int().min(0).meta({ description: "Failed jobs left in the queues afterwards (skipped ones and those past the limit)" }),
  })
  .meta({ id: "RetriedFailedJobs" });
export type RetriedFailed = z.infer<typeof retriedFailedSchema>;

/** `POST /api/admin/session`: the dashboard's cookie was set; it stops working at `expiresAt`. */
export const adminSessionSchema = z.object({ expiresAt: z.iso.datetime() }).meta({ id: "AdminSession" });
export type AdminSession = z.infer<typeof adminSessionSchema>;
