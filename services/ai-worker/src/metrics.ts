/** What an operator watches on a worker: jobs by outcome and time per stage. */
import { counter, histogram } from "@pipeline/runtime/metrics";
import { type Counter, Gauge, type Histogram, type Registry } from "prom-client";

export class WorkerMetrics {
  readonly jobs: Counter;
  private readonly stages: Histogram;

  constructor(private readonly registry: Registry) {
    this.jobs = counter(registry, "ai_jobs_total", "AI jobs finished, by outcome", ["outcome"]);
    this.stages = histogram(registry, "ai_stage_duration_seconds", "Time per processing stage", ["stage"], [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60]);
  }

  /** Jobs of `ai-processing` by state, read from Redis at each scrape (the backlog operators scale on). */
  watchQueue(counts: () => Promise<Record<string, number>>): void {
    new Gauge({
      name: "ai_queue_jobs",
      help: "Jobs in the ai-processing queue, by state",
      labelNames: ["state"],
      registers: [this.registry],
      async collect() {
        const byState = await counts().catch(() => ({}) as Record<string, number>);
        for (const [state, count] of Object.entries(byState)) this.set({ state }, count);
      },
    });
  }

  async time<T>(stage: string, run: () => Promise<T>): Promise<T> {
    const end = this.stages.startTimer({ stage });
    try {
      return await run();
    } finally {
      end();
    }
  }
}
