/** What operators do with AI jobs: read them by state, and retry a failed one through its Asset. */

import type { JobRetried, JobSummary } from "@pipeline/contracts/admin";
import { jobDataSchema } from "@pipeline/contracts/jobs";
import { DependencyError, HttpError } from "@pipeline/runtime/http";
import type { JobType } from "bullmq";
import type { AiJobProducer } from "../queue.ts";
import type { AssetsService } from "./assets-service.ts";

export class JobsService {
  constructor(
    private readonly producer: AiJobProducer,
    private readonly assets: AssetsService,
  ) {}

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
    try {
      await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
    } catch (error) {
      // It left the failed set between the check and the retry (another operator, a concurrent retry).
      if (!(await this.producer.guard(() => job.isFailed()))) throw new HttpError(409, "conflict", "only a failed job can be retried");
      throw new DependencyError("queue", error);
    }
    return { jobId, status: "waiting" };
  }
}
