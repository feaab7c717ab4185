/**
 * The worker of `ai-processing`: the shared worker lifecycle (messaging's
 * createQueueWorker: a killed replica's jobs are taken over, a shutdown
 * finishes what it can and hands back the rest) around the job handler, and
 * each started job leaving its user's fair share.
 */
import type { JobData } from "@pipeline/contracts/jobs";
import { AI_QUEUE, createQueueWorker, FairShare, isReanalysisJob, type LockSettings } from "@pipeline/messaging";
import type { Logger } from "@pipeline/runtime/logger";
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
  const handle = processAssetJob(deps);
  const fairShare = new FairShare(options.connection, options.prefix, AI_QUEUE);
  const aiWorker = createQueueWorker<JobData, void>(
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
    // Nothing is returned to BullMQ: a completed job is kept a day, and its return value would be kept with it.
    async (job, context) => {
      await leaveWaiting(fairShare, job, deps.logger);
      await handle(job, context);
    },
  );
  return aiWorker;
}

/**
 * A job starting leaves its user's waiting jobs, and its first start moves its lane's clock to its round
 * (a retry or a job handed back keeps the priority it had, an earlier round). Never fails the job: the fair
 * share heals a missed release when its clock passes the job.
 */
async function leaveWaiting(fairShare: FairShare, job: Job<JobData>, logger: Logger): Promise<void> {
  const userId = (job.data as Partial<JobData> | undefined)?.userId;
  if (typeof userId !== "string" || !job.id) return;
  const priority = job.attemptsMade === 0 ? job.opts.priority : undefined;
  await fairShare
    .release(userId, job.id, isReanalysisJob(job) ? "reanalysis" : "upload", priority)
    .catch((error) => logger.warn({ err: (error as Error).message, jobId: job.id }, "fair share not updated for a started job"));
}
