/** The producer side of `ai-processing`: validated job data, the specification's options, one job per asset run. */
import { type AssetProgressState, assetProgressStateSchema } from "@pipeline/contracts/asset";
import { type JobData, jobDataSchemaFor } from "@pipeline/contracts/jobs";
import { AI_JOB_NAME, AI_QUEUE, type AiJobSettings, aiJobOptions, openQueue } from "@pipeline/messaging";
import { orUnavailable } from "@pipeline/runtime/http";
import type { RedisClient } from "@pipeline/runtime/redis";
import { jobTraceOptions } from "@pipeline/runtime/tracing";
import type { Job, JobType, Queue } from "bullmq";

export class AiJobProducer {
  readonly queue: Queue<JobData>;
  private readonly schema;

  constructor(
    connection: RedisClient,
    prefix: string,
    private readonly settings: AiJobSettings,
    plainHttpBase?: string,
  ) {
    this.queue = openQueue<JobData>(AI_QUEUE, connection, prefix);
    this.schema = jobDataSchemaFor(plainHttpBase);
  }

  /** Validates and enqueues; the job id makes a second enqueue for the same run a no-op. */
  async enqueue(data: JobData, jobId: string): Promise<void> {
    const valid = this.schema.parse(data);
    await this.guard(() => this.queue.add(AI_JOB_NAME, valid, { ...aiJobOptions(this.settings), jobId, ...jobTraceOptions() }));
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
    return job.remove().then(
      () => true,
      () => false,
    );
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

  list(state: JobType, start: number, end: number): Promise<Job<JobData>[]> {
    return this.guard(() => this.queue.getJobs([state], start, end, false));
  }

  /** Runs a queue operation; Redis being unreachable becomes a 503. */
  guard<T>(operation: () => Promise<T>): Promise<T> {
    return orUnavailable("queue", operation);
  }

  close() {
    return this.queue.close();
  }
}
