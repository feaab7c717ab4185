/** The producer side of `ai-processing`: validated job data, the specification's options, one job per asset run, each user's fair share. */
import { type AssetProgressState, assetProgressStateSchema } from "@pipeline/contracts/asset";
import { type JobData, jobDataSchemaFor } from "@pipeline/contracts/jobs";
import {
  AI_JOB_NAME,
  AI_QUEUE,
  type AiJobSettings,
  aiJobOptions,
  type FairLane,
  FairShare,
  isReanalysisJob,
  openQueue,
  REANALYZE_JOB_NAME,
} from "@pipeline/messaging";
import { orUnavailable } from "@pipeline/runtime/http";
import type { RedisClient } from "@pipeline/runtime/redis";
import { jobTraceOptions } from "@pipeline/runtime/tracing";
import type { Job, JobType, Queue } from "bullmq";

export class AiJobProducer {
  readonly queue: Queue<JobData>;
  /** Each user's share of the queue: the priority of every job comes from it. */
  readonly fairShare: FairShare;
  private readonly schema;

  constructor(
    connection: RedisClient,
    prefix: string,
    private readonly settings: AiJobSettings,
    plainHttpBase?: string,
  ) {
    this.queue = openQueue<JobData>(AI_QUEUE, connection, prefix);
    this.fairShare = new FairShare(connection, prefix, AI_QUEUE);
    this.schema = jobDataSchemaFor(plainHttpBase);
  }

  /**
   * Validates and enqueues with the user's fair-share priority (a re-analysis in the lane below
   * new uploads); the job id makes a second enqueue for the same run a no-op.
   */
  async enqueue(data: JobData, jobId: string, lane: FairLane = "upload"): Promise<void> {
    const valid = this.schema.parse(data);
    const name = lane === "reanalysis" ? REANALYZE_JOB_NAME : AI_JOB_NAME;
    await this.guard(async () => {
      const priority = await this.fairShare.admit(valid.userId, jobId, lane);
      await this.queue.add(name, valid, { ...aiJobOptions(this.settings), jobId, priority, ...jobTraceOptions() });
    });
  }

  /**
   * A failed job stays in BullMQ under its id for the removeOnFail age; a retry
   * uses a new id, so the old failed job is only removed from the failed set
   * once the new run is queued (operators keep the history until then).
   */
  async removeFinished(jobId: string): Promise<void> {
    const job = await this.queue.getJob(jobId);
    if (job && (await job.isFailed())) await job.remove().catch(() => undefined);
  }

  /**
   * Cancels a run that has not started (waiting or delayed: removed, so no worker takes it);
   * a run in progress is locked and stays, and its result is discarded when it finds its Asset gone.
   */
  async cancel(jobId: string): Promise<boolean> {
    const job = await this.guard(() => this.queue.getJob(jobId));
    if (!job) return false;
    const removed = await job.remove().then(
      () => true,
      () => false,
    );
    const userId = (job.data as Partial<JobData> | undefined)?.userId;
    if (removed && userId) await this.fairShare.release(userId, jobId, isReanalysisJob(job) ? "reanalysis" : "upload").catch(() => undefined);
    return removed;
  }

  /** The stage a run has reported (`job.updateProgress`), or null (none yet, no such job, Redis unreachable). */
  async progressOf(jobId: string): Promise<AssetProgressState | null> {
    const job = await this.queue.getJob(jobId).catch(() => undefined);
    const parsed = assetProgressStateSchema.safeParse(job?.progress);
    return parsed.success ? parsed.data : null;
  }

  get(jobId: string): Promise<Job<JobData> | undefined> {
    return this.guard(() => this.queue.getJob(jobId));
  }

  /** `waiting` includes BullMQ's `prioritized` (every AI job has a fair-share priority). */
  list(state: JobType, start: number, end: number): Promise<Job<JobData>[]> {
    const states: JobType[] = state === "waiting" ? ["prioritized", "waiting"] : [state];
    return this.guard(() => this.queue.getJobs(states, start, end, false));
  }

  /** Runs a queue operation; Redis being unreachable becomes a 503. */
  guard<T>(operation: () => Promise<T>): Promise<T> {
    return orUnavailable("queue", operation);
  }

  close() {
    return this.queue.close();
  }
}
