/**
 * What operators do with the queues: read AI jobs by state; retry failed jobs, an AI job
 * always through its Asset (the state machine reopens it under a new job id); read each
 * queue's counts, workers, pause state and global concurrency, and change the last two.
 */

import {
  BACKLOG_TOP_USERS,
  type JobRetried,
  type JobSummary,
  type PipelineQueue,
  pipelineQueueSchema,
  type QueueCounts,
  type QueueStatus,
  type QueueWorker,
  queueCountsSchema,
  type RetriedFailed,
  type UserBacklogEntry,
} from "@pipeline/contracts/admin";
import { jobDataSchema } from "@pipeline/contracts/jobs";
import { AI_QUEUE } from "@pipeline/messaging";
import { DependencyError, HttpError } from "@pipeline/runtime/http";
import type { Job, JobType, Queue } from "bullmq";
import type { AiJobProducer } from "../queue.ts";
import type { AssetsService } from "./assets-service.ts";

const COUNTED_STATES = Object.keys(queueCountsSchema.shape) as (keyof QueueCounts)[];

export class JobsService {
  private readonly queues: Map<string, Queue>;

  constructor(
    private readonly producer: AiJobProducer,
    private readonly assets: AssetsService,
    /** The queues operators see (the pipeline's: ai-processing, asset-outcomes, webhook-deliveries). */
    queues: Queue[] = [producer.queue],
  ) {
    this.queues = new Map(queues.map((queue) => [queue.name, queue]));
  }

  async list(state: JobType, offset: number, limit: number): Promise<JobSummary[]> {
    const jobs = await this.producer.list(state, offset, offset + limit - 1);
    return jobs.map((job) => {
      const data = (job.data ?? {}) as { assetId?: unknown; userId?: unknown };
      return {
        id: job.id,
        assetId: typeof data.assetId === "string" ? data.assetId : null,
        userId: typeof data.userId === "string" ? data.userId : null,
        failedReason: job.failedReason ?? null,
        attemptsMade: job.attemptsMade,
        attempts: job.opts.attempts ?? 1,
        createdAt: new Date(job.timestamp).toISOString(),
        finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
      };
    });
  }

  /** Through its Asset when it has a failed one (new run, Asset back to processing), else the job as it is. */
  async retry(jobId: string): Promise<JobRetried> {
    const job = await this.producer.get(jobId);
    if (!job) throw new HttpError(404, "not_found", "job not found");
    if (!(await this.producer.guard(() => job.isFailed()))) throw new HttpError(409, "conflict", "only a failed job can be retried");
    const data = jobDataSchema.safeParse(job.data);
    if (data.success) {
      const accepted = await this.assets.retryAny(data.data.assetId);
      if (accepted) return accepted;
    }
    if (!(await this.retryAsIs(job))) throw new HttpError(409, "conflict", "only a failed job can be retried");
    return { jobId, status: "waiting" };
  }

  /**
   * Retries up to `limit` failed jobs, `ai-processing` first. An AI job goes again only through
   * its failed Asset; one whose Asset is no longer failed (retried, deleted) or whose data is
   * invalid (it would fail the same way) is skipped. Other queues' jobs are retried as they are.
   */
  async retryFailed(limit: number, only?: string): Promise<RetriedFailed> {
    const targets = only ? [this.queue(only)] : [...this.queues.values()];
    let budget = limit;
    let retried = 0;
    let skipped = 0;
    for (const queue of targets) {
      if (budget <= 0) break;
      const jobs = (await this.producer.guard(() => queue.getJobs(["failed"], 0, budget - 1))).filter(Boolean);
      budget -= jobs.length;
      for (const job of jobs) {
        if (await (queue.name === AI_QUEUE ? this.retryThroughAsset(job) : this.retryAsIs(job))) retried++;
        else skipped++;
      }
    }
    const left = await Promise.all(targets.map((queue) => this.producer.guard(() => queue.getFailedCount())));
    return { retried, skipped, remaining: left.reduce((sum, count) => sum + count, 0) };
  }

  async statuses(): Promise<QueueStatus[]> {
    return Promise.all([...this.queues.keys()].map((name) => this.status(name)));
  }

  async status(name: string): Promise<QueueStatus> {
    const queue = this.queue(name);
    const [counts, paused, globalConcurrency, clients] = await this.producer.guard(() =>
      Promise.all([queue.getJobCounts(...COUNTED_STATES), queue.isPaused(), queue.getGlobalConcurrency(), queue.getWorkers()]),
    );
    const prefix = queue.opts.prefix ?? "bull";
    const backlogs = name === AI_QUEUE ? await this.producer.guard(() => this.producer.fairShare.backlogs(BACKLOG_TOP_USERS)) : undefined;
    return {
      name: name as PipelineQueue,
      paused,
      globalConcurrency: globalConcurrency || null,
      counts: Object.fromEntries(COUNTED_STATES.map((state) => [state, counts[state] ?? 0])) as QueueCounts,
      workers: clients.map((client) => workerOf(client, prefix)),
      ...(backlogs ? { backlogs } : {}),
    };
  }

  /** A user's jobs per round of the AI queue's fair share (null: the default 1), and their backlog. */
  async setWeight(userId: string, weight: number | null): Promise<UserBacklogEntry> {
    const fairShare = this.producer.fairShare;
    await this.producer.guard(() => fairShare.setWeight(userId, weight));
    return this.producer.guard(() => fairShare.backlogOf(userId));
  }

  /** Workers stop taking this queue's jobs (those in flight finish); new jobs wait. */
  async pause(name: string): Promise<QueueStatus> {
    const queue = this.queue(name);
    await this.producer.guard(() => queue.pause());
    return this.status(name);
  }

  async resume(name: string): Promise<QueueStatus> {
    const queue = this.queue(name);
    await this.producer.guard(() => queue.resume());
    return this.status(name);
  }

  /** BullMQ's global concurrency: at most `concurrency` of the queue's jobs in flight across every worker (each also keeps its own limit); null lifts it. */
  async setConcurrency(name: string, concurrency: number | null): Promise<QueueStatus> {
    const queue = this.queue(name);
    await this.producer.guard(() => (concurrency === null ? queue.removeGlobalConcurrency() : queue.setGlobalConcurrency(concurrency)));
    return this.status(name);
  }

  private queue(name: string): Queue {
    const queue = pipelineQueueSchema.safeParse(name).success ? this.queues.get(name) : undefined;
    if (!queue) throw new HttpError(404, "not_found", `no queue named ${JSON.stringify(name)}`);
    return queue;
  }

  /** A failed AI job reopens its failed Asset (a new run under a new id); false when there is none to reopen. */
  private async retryThroughAsset(job: Job): Promise<boolean> {
    const data = jobDataSchema.safeParse(job.data);
    if (!data.success) return false;
    const accepted = await this.assets.retryAny(data.data.assetId).catch((error: unknown) => {
      // Retried or deleted by someone else between the read and the write.
      if (error instanceof HttpError && (error.status === 404 || error.status === 409)) return null;
      throw error;
    });
    if (!accepted) return false;
    // The Asset's retry removes the failed job it names; this one may be an older run's.
    if (job.id) await this.producer.removeFinished(job.id);
    return true;
  }

  /** BullMQ's own retry, attempts reset; false when the job left the failed set meanwhile (another operator, a concurrent retry). */
  private async retryAsIs(job: Job): Promise<boolean> {
    try {
      await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
      return true;
    } catch (error) {
      if (!(await this.producer.guard(() => job.isFailed()))) return false;
      throw new DependencyError("queue", error);
    }
  }
}

/** A connected worker from Redis's client list: BullMQ names its connection `<prefix>:<queue in base64>`, plus `:w:<name>` when the worker has one. */
function workerOf(client: Record<string, string>, prefix: string): QueueWorker {
  const rest = (client.name ?? "").slice(prefix.length + 1);
  const named = rest.indexOf(":w:");
  return { name: named >= 0 ? rest.slice(named + 3) : null, addr: client.addr ?? "", ageS: Number(client.age) || 0, idleS: Number(client.idle) || 0 };
}
