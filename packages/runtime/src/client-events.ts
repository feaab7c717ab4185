/**
 * The typed event channel to clients: a producer puts `{userId, event,
 * payload}` on the outcome queue, checked against the client-event map;
 * exactly one notifier replica takes each and broadcasts it to the user's room.
 */
import { type ClientEventJob, clientEventJobSchema } from "@pipeline/contracts/events";
import { OUTCOME_JOB_OPTIONS, OUTCOME_QUEUE } from "@pipeline/contracts/jobs";
import { Queue } from "bullmq";
import type { RedisClient } from "./redis.ts";
import { jobTraceOptions } from "./tracing.ts";

export class ClientEventPublisher {
  readonly queue: Queue<ClientEventJob>;

  constructor(connection: RedisClient, prefix: string) {
    this.queue = new Queue<ClientEventJob>(OUTCOME_QUEUE, { connection, prefix });
  }

  /** Queues one event for a user's sockets. `jobId` makes publishing the same event twice a no-op. */
  async publish(job: ClientEventJob, jobId: string): Promise<void> {
    const valid = clientEventJobSchema.parse(job);
    await this.queue.add(valid.event, valid, { ...OUTCOME_JOB_OPTIONS, jobId, ...jobTraceOptions() });
  }

  /** Queues many events at once (benchmarks, tests). */
  async publishMany(items: { job: ClientEventJob; jobId: string }[]): Promise<void> {
    await this.queue.addBulk(
      items.map(({ job, jobId }) => {
        const valid = clientEventJobSchema.parse(job);
        return { name: valid.event, data: valid, opts: { ...OUTCOME_JOB_OPTIONS, jobId } };
      }),
    );
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
