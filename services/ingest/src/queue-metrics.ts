/**
 * The queues' backlog for operators, read from Redis at each scrape. Ingest
 * exports it because it always runs (workers may scale to zero) and already
 * holds the queues; every ingest replica reports the same figures, so they
 * are aggregated with `max()`, never `sum()`.
 */
import type { Queue } from "bullmq";
import { Gauge, type Registry } from "prom-client";

interface QueueReading {
  name: string;
  counts: Record<string, number>;
  oldestWaitingS: number;
}

/** Gauges `queue_jobs{queue,state}` and `queue_oldest_waiting_seconds{queue}` over `queues`. */
export function queueMetrics(registry: Registry, queues: Queue[]): void {
  // Both gauges are collected concurrently in one scrape: they share one in-flight read of Redis.
  let inFlight: Promise<QueueReading[]> | undefined;
  const read = () => {
    inFlight ??= Promise.allSettled(queues.map(readQueue))
      // A queue that could not be read (Redis down) is left out rather than shown with stale figures.
      .then((results) => results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : [])))
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  new Gauge({
    name: "queue_jobs",
    help: "Jobs in each BullMQ queue, by state; every ingest replica reports the same value: aggregate with max(), not sum()",
    labelNames: ["queue", "state"],
    registers: [registry],
    async collect() {
      const readings = await read();
      this.reset();
      for (const { name, counts } of readings) {
        for (const [state, count] of Object.entries(counts)) this.set({ queue: name, state }, count);
      }
    },
  });

  new Gauge({
    name: "queue_oldest_waiting_seconds",
    help: "Age of the oldest job waiting in each BullMQ queue (0 when none waits); the same on every ingest replica: aggregate with max()",
    labelNames: ["queue"],
    registers: [registry],
    async collect() {
      const readings = await read();
      this.reset();
      for (const { name, oldestWaitingS } of readings) this.set({ queue: name }, oldestWaitingS);
    },
  });
}

async function readQueue(queue: Queue): Promise<QueueReading> {
  const [counts, [next]] = await Promise.all([
    // Every state BullMQ keeps: waiting, active, delayed, prioritized, waiting-children, paused, completed, failed.
    queue.getJobCounts(),
    // The tail of the wait list (one LRANGE and the job's hash): the job that has waited longest.
    queue.getWaiting(0, 0),
  ]);
  // Waiting since it was added or, for a retried run, since its last attempt started (BullMQ keeps no
  // time of entering the wait list; a promoted delayed job counts from when it was added).
  const since = next ? Math.max(next.timestamp, next.processedOn ?? 0) : undefined;
  return { name: queue.name, counts, oldestWaitingS: since === undefined ? 0 : Math.max(0, (Date.now() - since) / 1000) };
}
