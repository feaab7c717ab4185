/**
 * What an operator watches on a worker: jobs by outcome, time per run and per
 * stage. Queue depth is not here: ingest exports it (`queue_jobs`), so it is
 * there once per replica set and stays when workers scale to zero.
 */
import { counter, histogram } from "@pipeline/runtime/metrics";
import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import type { Counter, Histogram, Registry } from "prom-client";

/** How one run of the handler ended (the `outcome` of `ai_job_duration_seconds`). */
export type RunOutcome = "completed" | "superseded" | "retried" | "failed" | "handed_back";

const STAGE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
/** A run may last up to the attempt timeout (120 s by default). */
const RUN_BUCKETS = [...STAGE_BUCKETS, 120];

export class WorkerMetrics {
  readonly jobs: Counter;
  private readonly stages: Histogram;
  private readonly runs: Histogram;

  constructor(registry: Registry) {
    this.jobs = counter(registry, "ai_jobs_total", "AI jobs finished, by outcome", ["outcome"]);
    this.stages = histogram(registry, "ai_stage_duration_seconds", "Time per processing stage", ["stage"], STAGE_BUCKETS);
    this.runs = histogram(
      registry,
      "ai_job_duration_seconds",
      "Time per run of the job handler (one attempt), by outcome: completed, superseded, retried, failed (for good), handed_back",
      ["outcome"],
      RUN_BUCKETS,
    );
  }

  async time<T>(stage: string, run: () => Promise<T>): Promise<T> {
    const end = this.stages.startTimer({ stage });
    try {
      return await run();
    } finally {
      end();
    }
  }

  /** Wraps a job handler so each run is timed, from its start to its end, by how it ended. */
  timeRuns<J extends Job, C, R extends { status: string }>(handler: (job: J, context?: C) => Promise<R>): (job: J, context?: C) => Promise<R> {
    return async (job, context) => {
      const end = this.runs.startTimer();
      try {
        const result = await handler(job, context);
        end({ outcome: result.status === "superseded" ? "superseded" : "completed" });
        return result;
      } catch (error) {
        end({ outcome: runOutcomeOf(error, job) });
        throw error;
      }
    };
  }
}

function runOutcomeOf(error: unknown, job: Job): RunOutcome {
  if (error instanceof DelayedError) return "handed_back";
  // Inside the handler `attemptsMade` does not count this run yet.
  const last = error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  return last ? "failed" : "retried";
}
