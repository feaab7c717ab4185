/**
 * The worker of `ai-processing`: the shared worker lifecycle (messaging's
 * createQueueWorker: a killed replica's jobs are taken over, a shutdown
 * finishes what it can and hands back the rest) around the job handler.
 */
import type { JobData } from "@pipeline/contracts/jobs";
import { AI_QUEUE, createQueueWorker, type LockSettings } from "@pipeline/messaging";
import type { RedisClient } from "@pipeline/runtime/redis";
import { Job } from "bullmq";
import { finalizeFailure, type ProcessAssetDeps, processAssetJob } from "./jobs/process-asset.ts";

export interface AiWorkerOptions {
  connection: RedisClient;
  prefix: string;
  concurrency: number;
  lock: LockSettings;
}

export function createAiWorker(options: AiWorkerOptions, deps: ProcessAssetDeps) {
  const aiWorker = createQueueWorker<JobData, { status: string }>(
    {
      queue: AI_QUEUE,
      ...options,
      logger: deps.logger,
      // A job that stalled out never reached the handler's catch; finalizeFailure is idempotent.
      onStalledOut: async (jobId) => {
        const job = await Job.fromId<JobData>(aiWorker.worker, jobId);
        if (job)
          await finalizeFailure(deps, job, "Processing was interrupted repeatedly (its worker stopped responding); gave up", deps.logger.child({ jobId }));
      },
    },
    processAssetJob(deps),
  );
  return aiWorker;
}
