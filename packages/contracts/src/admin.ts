/** The admin API's wire shapes: AI jobs as operators see them (the dead-letter set) and retrying them, the queues' state and controls, and the dashboard's session. */
import { z } from "zod";
import { ANALYZERS, acceptedSchema, categorySchema, objectIdSchema, reanalysisAcceptedSchema } from "./asset.ts";

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

/** One user's waiting AI jobs (`GET /api/admin/queues`): the fair share runs them a round at a time. */
export const userBacklogSchema = z
  .object({
    userId: z.string(),
    waiting: z.number().int().min(0).meta({ description: "AI jobs of this user not started yet" }),
    reanalysis: z.number().int().min(0).meta({ description: "Of which re-analysis (queued below new uploads)" }),
    weight: z.number().positive().meta({ description: "Jobs per round of the fair share (1 unless set)" }),
  })
  .meta({ id: "UserBacklog" });
export type UserBacklogEntry = z.infer<typeof userBacklogSchema>;

export const BACKLOG_TOP_USERS = 20;

export const queueStatusSchema = z
  .object({
    name: pipelineQueueSchema,
    paused: z.boolean(),
    globalConcurrency: z.number().int().positive().nullable().meta({ description: "Jobs in flight across all its workers at most; null: no cap" }),
    counts: queueCountsSchema,
    workers: z.array(queueWorkerSchema),
    /** ai-processing only: the users with the most waiting jobs, most first. */
    backlogs: z.array(userBacklogSchema).optional(),
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

/** `PUT /api/admin/users/:id/weight`: a user's jobs per round of the fair share (1/16..16), or null for the default 1. */
export const userWeightSchema = z
  .object({
    weight: z
      .number()
      .min(1 / 16)
      .max(16)
      .nullable(),
  })
  .meta({ id: "UserWeight" });
export type UserWeight = z.infer<typeof userWeightSchema>;

export const REANALYZE_DEFAULT_LIMIT = 100;
export const REANALYZE_MAX_LIMIT = 1000;

/** `POST /api/admin/reanalyze`: which Assets to analyse again, a page at a time. */
export const bulkReanalysisRequestSchema = z
  .object({
    filter: z
      .object({
        category: categorySchema.optional(),
        status: z.enum(["active", "failed"]).optional().meta({ description: "Default: both" }),
        processedBefore: z.iso.datetime({ offset: true }).optional().meta({ description: "Analysed (aiMetadata.processedAt) before this time" }),
        analyzer: z.enum(ANALYZERS).optional().meta({ description: "aiMetadata.source.analyzer" }),
        model: z.string().min(1).max(200).optional().meta({ description: "aiMetadata.source.model" }),
      })
      .strict()
      .default({}),
    limit: z
      .number()
      .int()
      .min(1)
      .max(REANALYZE_MAX_LIMIT)
      .default(REANALYZE_DEFAULT_LIMIT)
      .meta({ description: `Assets looked at in this call (default ${REANALYZE_DEFAULT_LIMIT}, at most ${REANALYZE_MAX_LIMIT})` }),
    cursor: objectIdSchema.optional().meta({ description: "`nextCursor` of the previous answer, with the same filter" }),
  })
  .strict()
  .meta({ id: "BulkReanalysisRequest" });
export type BulkReanalysisRequest = z.infer<typeof bulkReanalysisRequestSchema>;

export const bulkReanalysisSchema = z
  .object({
    queued: z.number().int().min(0),
    skipped: z.number().int().min(0).meta({ description: "Matched but changed meanwhile (deleted, another run started) or without an original image" }),
    jobs: z.array(reanalysisAcceptedSchema),
    nextCursor: z.string().nullable().meta({ description: "Pass as `cursor` to go on; null when every match was looked at" }),
  })
  .meta({ id: "BulkReanalysis" });
export type BulkReanalysis = z.infer<typeof bulkReanalysisSchema>;
