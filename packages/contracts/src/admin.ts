/** The admin API's wire shapes: AI jobs as operators see them (the dead-letter set), and the answer to retrying one. */
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
