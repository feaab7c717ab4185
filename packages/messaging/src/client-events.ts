/**
 * The one way to send a client event to a user's sockets (and, for final
 * events, their webhooks). A caller says what happened, with the run it
 * belongs to as a field; the event's route and id follow from its kind:
 * - `asset_progress` (best effort, may be lost): written straight into the
 *   sockets' stream, dropped once its run's final event is there; the same
 *   call sets the run's AI job progress (what GET /api/assets/:id shows);
 * - `asset_processed` and `asset_deleted` (never lost): queued on
 *   `asset-outcomes` under their event id; one notifier takes each, writes it
 *   to the stream exactly once by that id, and fans it out to webhooks.
 */
import type { ClientEventJob } from "@pipeline/contracts/events";
import { clientEventJobSchema } from "@pipeline/contracts/events";
import type { RedisClient } from "@pipeline/runtime/redis";
import { jobTraceOptions } from "@pipeline/runtime/tracing";
import type { Queue } from "bullmq";
import { z } from "zod";
import { deletionIdFor, outcomeIdFor } from "./ids.ts";
import { DeletionMarkers } from "./markers.ts";
import { AI_QUEUE, jobKeyOf, OUTCOME_JOB_OPTIONS, OUTCOME_QUEUE, openQueue } from "./queues.ts";
import { SocketStreamWriter, type WriteResult } from "./stream.ts";

type EventOf<E extends ClientEventJob["event"]> = Extract<ClientEventJob, { event: E }>;

/** A client event the pipeline sends; a run's events name their run. */
export type ClientMessage = (EventOf<"asset_progress"> & { runId: string }) | (EventOf<"asset_processed"> & { runId: string }) | EventOf<"asset_deleted">;
export type FinalMessage = Exclude<ClientMessage, { event: "asset_progress" }>;

/** A final event on `asset-outcomes`: the event, its id (the job id too), and its run when it has one. */
export type QueuedEvent = ClientEventJob & { eventId: string; runId?: string };

/** Checks a queued event: its ids, a known event name, a user id, and the payload that event's schema allows. */
export const queuedEventSchema = z
  .object({ eventId: z.string().min(1), runId: z.string().min(1).optional() })
  .passthrough()
  .transform((job, ctx): QueuedEvent => {
    const event = clientEventJobSchema.safeParse(job);
    if (!event.success) {
      for (const issue of event.error.issues) ctx.addIssue(issue as never);
      return z.NEVER;
    }
    return { ...event.data, eventId: job.eventId, ...(job.runId ? { runId: job.runId } : {}) };
  });

/** The id of a final event: a run's outcome by its run, a deletion by its Asset. */
export function eventIdOf(message: FinalMessage): string {
  return message.event === "asset_processed" ? outcomeIdFor(message.runId) : deletionIdFor(message.payload.assetId);
}

function queued(message: FinalMessage): QueuedEvent {
  const { userId, event, payload } = clientEventJobSchema.parse(message);
  return { userId, event, payload, eventId: eventIdOf(message), ...("runId" in message ? { runId: message.runId } : {}) } as QueuedEvent;
}

export class ClientEvents {
  readonly queue: Queue<QueuedEvent>;
  /** Asset deletion markers: set before an Asset is deleted, so nothing about it follows `asset_deleted`. */
  readonly deletions: DeletionMarkers;
  private readonly stream: SocketStreamWriter;

  constructor(
    connection: RedisClient,
    private readonly prefix: string,
  ) {
    this.queue = openQueue<QueuedEvent>(OUTCOME_QUEUE, connection, prefix);
    this.deletions = new DeletionMarkers(connection, prefix);
    // No trimming here: the notifiers trim the stream as they write final events.
    this.stream = new SocketStreamWriter(connection, { prefix, maxLen: 0 });
  }

  /**
   * Sends one event by its route (above). A progress report resolves with what became of its write;
   * a final event resolves once it is queued (queueing it again is a no-op).
   */
  async emit(message: ClientMessage): Promise<WriteResult | undefined> {
    if (message.event === "asset_progress") {
      const { userId, event, payload } = clientEventJobSchema.parse(message) as EventOf<"asset_progress">;
      const jobProgress = { jobKey: jobKeyOf(this.prefix, AI_QUEUE, message.runId), progress: { stage: payload.stage, progress: payload.progress } };
      return this.stream.write({ userId, event, payload }, { progressOf: message.runId }, jobProgress);
    }
    const data = queued(message);
    await this.queue.add(data.event, data as never, { ...OUTCOME_JOB_OPTIONS, jobId: data.eventId, ...jobTraceOptions() });
    return undefined;
  }

  /** Queues many final events at once (benchmarks, tests). */
  async emitMany(messages: FinalMessage[]): Promise<void> {
    await this.queue.addBulk(
      messages.map((message) => {
        const data = queued(message);
        return { name: data.event, data, opts: { ...OUTCOME_JOB_OPTIONS, jobId: data.eventId } };
      }),
    );
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
