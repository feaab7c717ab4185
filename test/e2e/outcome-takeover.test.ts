/**
 * Exactly once per socket, by construction: a notifier that wrote an outcome
 * to the sockets' stream and died before completing its job (here: a worker
 * that took the job, wrote the event exactly as the outcome consumer does, and
 * never renewed its lock) leaves the job to be taken over by another
 * notifier. The take-over finds the event already written (one Lua call checks
 * the event's id and writes), writes nothing, still fans it out to webhooks,
 * and completes: the socket receives the event once.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  ClientEvents,
  eventIdOf,
  FAN_OUT_JOB,
  fanOutJobIdFor,
  OUTCOME_QUEUE,
  openQueue,
  type QueuedEvent,
  runIdFor,
  SocketStreamWriter,
  WEBHOOK_QUEUE,
} from "@pipeline/messaging";
import { Worker } from "bullmq";
import { OutcomeInjector } from "../helpers/outcomes.ts";
import { connectRecording, countByAsset, eventually, type RecordingSocket } from "../helpers/sockets.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";

const LOCK_MS = 1000;
let stack: Stack;
let socket: RecordingSocket | undefined;

beforeAll(async () => {
  stack = await Stack.start({ services: [] });
}, 30_000);

afterAll(async () => {
  socket?.close();
  await stack?.stop();
});

test("an outcome written by a notifier that died before completing its job reaches the socket once after the take-over", async () => {
  const user = newUserId();
  const redis = stack.redis();
  const events = stack.onStop(new ClientEvents(redis, stack.id));
  // The user has a webhook owner's mark, so the event is fanned out (and the fan-out can be checked).
  await redis.sadd(`${stack.id}:webhook-owners`, user);

  // The dying notifier takes the outcome before any other notifier runs, and never renews its lock.
  const payload = OutcomeInjector.payload(0);
  await events.emit({ userId: user, event: "asset_processed", payload, runId: runIdFor(payload.assetId) });
  const dying = stack.onStop(new Worker<QueuedEvent>(OUTCOME_QUEUE, null, { connection: redis.duplicate(), prefix: stack.id, lockDuration: LOCK_MS }));
  const taken = await dying.getNextJob("dying-notifier");
  expect(taken?.data.payload).toMatchObject({ assetId: payload.assetId });

  const notifier = await stack.add("notifier", { OUTCOME_LOCK_MS: String(LOCK_MS) });
  socket = await connectRecording(notifier.url, await tokenFor(user));
  // What the dying notifier did before it died: the consumer's own write.
  const first = await new SocketStreamWriter(redis, { prefix: stack.id, maxLen: 0 }).write(taken!.data, { final: taken!.data.eventId });
  expect(first.status).toBe("written");
  await eventually(() => countByAsset(socket!.events).get(payload.assetId) === 1, 10_000, "the event written before the crash");

  // The lock expires, the live notifier's stall check takes the job over and completes it (a completed outcome is
  // removed at once; a failed one would be kept). The duplicates metric below shows it was the take-over that ran.
  const outcomes = stack.onStop(openQueue(OUTCOME_QUEUE, redis, stack.id));
  await eventually(async () => (await outcomes.getJob(taken!.id as string)) === undefined, 30_000, "the outcome job taken over and completed");

  // A later event on the same stream: once it is here, a second copy of the first would have been too.
  const later = OutcomeInjector.payload(1);
  await events.emit({ userId: user, event: "asset_processed", payload: later, runId: runIdFor(later.assetId) });
  await eventually(() => countByAsset(socket!.events).has(later.assetId), 10_000, "the later event");
  expect(countByAsset(socket.events).get(payload.assetId)).toBe(1);

  // The take-over found the event written and said so; and the fan-out the dead notifier never queued happened, once.
  const metrics = await (await fetch(`${notifier.url}/metrics`)).text();
  expect(metrics).toMatch(/client_events_duplicates_total\{event="asset_processed"[^}]*\} 1\n/);
  const webhooks = stack.onStop(openQueue<{ payload: { data: { assetId: string } } }>(WEBHOOK_QUEUE, redis, stack.id));
  expect((await webhooks.getJob(fanOutJobIdFor(taken!.data.eventId)))?.name).toBe(FAN_OUT_JOB);
  const fanOuts = (await webhooks.getJobs(["completed", "waiting", "active", "delayed", "failed"])).filter((j) => j.name === FAN_OUT_JOB);
  expect(fanOuts.map((j) => j.data.payload.data.assetId).sort()).toEqual([payload.assetId, later.assetId].sort());
}, 90_000);

/** client_events_duplicates_total of asset_processed, summed over the given notifiers. */
async function duplicatesSeen(urls: string[]): Promise<number> {
  const texts = await Promise.all(urls.map(async (url) => (await fetch(`${url}/metrics`)).text()));
  return texts.reduce((sum, text) => sum + Number(/client_events_duplicates_total\{event="asset_processed"[^}]*\} (\d+)\n/.exec(text)?.[1] ?? 0), 0);
}

test("an outcome published again after its job completed and was removed reaches the socket once", async () => {
  const user = newUserId();
  const redis = stack.redis();
  const events = stack.onStop(new ClientEvents(redis, stack.id));
  // Any notifier of the stack may take either publication: the duplicates are counted over all of them.
  const notifiers = [stack.find("notifier") ?? (await stack.add("notifier"))];
  const ownSocket = stack.onStop(await connectRecording(notifiers[0]!.url, await tokenFor(user)));
  const outcomes = stack.onStop(openQueue(OUTCOME_QUEUE, redis, stack.id));
  const urls = notifiers.map((n) => n.url);
  const duplicatesBefore = await duplicatesSeen(urls);
  const payload = OutcomeInjector.payload(2);
  const message = { userId: user, event: "asset_processed", payload, runId: runIdFor(payload.assetId) } as const;
  await events.emit(message);
  await eventually(() => countByAsset(ownSocket.events).get(payload.assetId) === 1, 10_000, "the first publication");
  await eventually(async () => (await outcomes.getJob(eventIdOf(message))) === undefined, 10_000, "the completed outcome job removed");

  // A duplicate AI run (or a crash after publishing) publishes it again: BullMQ has no job of that id now, so it is a new job.
  await events.emit(message);
  await eventually(async () => (await duplicatesSeen(urls)) === duplicatesBefore + 1, 10_000, "the second publication found written");
  const later = OutcomeInjector.payload(3);
  await events.emit({ userId: user, event: "asset_processed", payload: later, runId: runIdFor(later.assetId) });
  await eventually(() => countByAsset(ownSocket.events).has(later.assetId), 10_000, "the later event");
  expect(countByAsset(ownSocket.events).get(payload.assetId)).toBe(1);
}, 60_000);
