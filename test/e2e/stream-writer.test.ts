/**
 * The sockets' stream writer on a real Redis: what reaches the stream, what
 * is written only once (a final event, by its id), and what is dropped because
 * the Asset was deleted or its run already finished, each decided in one Lua
 * call with the write.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { JobData } from "@pipeline/contracts/jobs";
import {
  AI_JOB_NAME,
  AI_QUEUE,
  ClientEvents,
  DeletionMarkers,
  deletionIdFor,
  jobKeyOf,
  openQueue,
  outcomeIdFor,
  SocketStreamWriter,
} from "@pipeline/messaging";
import { socketStreamName } from "@pipeline/runtime/socket-stream";
import { Redis } from "ioredis";
import { Types } from "mongoose";
import { requireRedis, TEST_REDIS_URL } from "../helpers/shared-servers.ts";

const prefix = `sst${Date.now().toString(36)}`;
const userId = new Types.ObjectId().toHexString();
let redis: Redis;
let writer: SocketStreamWriter;
let markers: DeletionMarkers;

beforeAll(async () => {
  await requireRedis();
  redis = new Redis(TEST_REDIS_URL);
  writer = new SocketStreamWriter(redis, { prefix, maxLen: 1000 });
  markers = new DeletionMarkers(redis, prefix);
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

const timestamp = () => new Date().toISOString();
const progress = (assetId: string) => ({
  userId,
  event: "asset_progress" as const,
  payload: { assetId, stage: "analyzing" as const, progress: 60, timestamp: timestamp() },
});
const processed = (assetId: string) => ({
  userId,
  event: "asset_processed" as const,
  payload: { event: "asset_processed" as const, assetId, status: "failed" as const, error: "AI service unavailable", timestamp: timestamp() },
});
const deleted = (assetId: string) => ({ userId, event: "asset_deleted" as const, payload: { assetId, timestamp: timestamp() } });

/** The events in the stream about `assetId`, in order. */
async function streamed(assetId: string): Promise<string[]> {
  const entries = await redis.xrange(socketStreamName(prefix), "-", "+");
  return entries
    .map(([, fields]) => JSON.parse(fields[fields.indexOf("data") + 1] as string).packet.data as [string, { assetId: string }])
    .filter(([, payload]) => payload.assetId === assetId)
    .map(([event]) => event);
}

describe("SocketStreamWriter", () => {
  test("writes an event for the user's room, as an external emitter would", async () => {
    const assetId = new Types.ObjectId().toHexString();
    const written = await writer.write(progress(assetId), { progressOf: "run-1" });
    expect(written).toMatchObject({ status: "written", offset: expect.stringMatching(/^\d+-\d+$/) });
    const [latest] = await redis.xrevrange(socketStreamName(prefix), "+", "-", "COUNT", 1);
    const fields = latest?.[1] ?? [];
    const message: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) message[fields[i] as string] = fields[i + 1] as string;
    expect(message.uid).toBe("emitter");
    expect(JSON.parse(message.data as string).opts.rooms).toEqual([`user:${userId}`]);
  });

  test("a final event is written once by its id: writing it again reports the first offset and adds nothing", async () => {
    const assetId = new Types.ObjectId().toHexString();
    const first = await writer.write(processed(assetId), { final: outcomeIdFor(assetId) });
    expect(first.status).toBe("written");
    // A retry, or a take-over from a notifier that died after the first write.
    expect(await writer.write(processed(assetId), { final: outcomeIdFor(assetId) })).toEqual({ status: "duplicate", offset: first.offset as string });
    // Another run of the same Asset is another event.
    expect((await writer.write(processed(assetId), { final: outcomeIdFor(`${assetId}-r1`) })).status).toBe("written");
    expect(await streamed(assetId)).toEqual(["asset_processed", "asset_processed"]);
  });

  test("a run's progress after its final event is dropped; a new run's progress is not", async () => {
    const assetId = new Types.ObjectId().toHexString();
    expect((await writer.write(progress(assetId), { progressOf: assetId })).status).toBe("written");
    expect((await writer.write(processed(assetId), { final: outcomeIdFor(assetId) })).status).toBe("written");
    // A duplicate run of the same job, still going after a stall.
    expect(await writer.write(progress(assetId), { progressOf: assetId })).toEqual({ status: "dropped", offset: null });
    // A retry: a new run id.
    expect((await writer.write(progress(assetId), { progressOf: `${assetId}-r1` })).status).toBe("written");
    expect(await streamed(assetId)).toEqual(["asset_progress", "asset_processed", "asset_progress"]);
  });

  test("after the deletion marker, only asset_deleted is written about the Asset (once)", async () => {
    const assetId = new Types.ObjectId().toHexString();
    await markers.mark(assetId, userId);
    expect(await markers.deletedBy(assetId)).toBe(userId);
    expect((await writer.write(progress(assetId), { progressOf: assetId })).status).toBe("dropped");
    expect((await writer.write(processed(assetId), { final: outcomeIdFor(assetId) })).status).toBe("dropped");
    expect((await writer.write(deleted(assetId), { final: deletionIdFor(assetId) })).status).toBe("written");
    expect((await writer.write(deleted(assetId), { final: deletionIdFor(assetId) })).status).toBe("duplicate");
    expect(await streamed(assetId)).toEqual(["asset_deleted"]);
    await markers.unmark(assetId);
    expect((await writer.write(progress(assetId), { progressOf: "another-run" })).status).toBe("written");
  });
});

describe("ClientEvents.emit", () => {
  test("progress goes straight to the stream; a final event is queued under its id, once", async () => {
    const events = new ClientEvents(redis, prefix);
    try {
      const assetId = new Types.ObjectId().toHexString();
      expect((await events.emit({ ...progress(assetId), runId: assetId }))?.status).toBe("written");
      expect(await streamed(assetId)).toEqual(["asset_progress"]);
      await events.emit({ ...processed(assetId), runId: assetId });
      await events.emit({ ...processed(assetId), runId: assetId });
      const jobs = await events.queue.getJobs(["waiting"]);
      const mine = jobs.filter((job) => job.data.eventId === outcomeIdFor(assetId));
      expect(mine.map((job) => [job.id, job.data.runId])).toEqual([[outcomeIdFor(assetId), assetId]]);
    } finally {
      await events.close();
    }
  });

  test("a progress report sets its run's AI job progress in the same call, only while the job exists and the run is unfinished", async () => {
    const events = new ClientEvents(redis, prefix);
    const queue = openQueue<JobData>(AI_QUEUE, redis, prefix);
    try {
      const assetId = new Types.ObjectId().toHexString();
      const data = { assetId, userId, imageUrl: "https://example.com/a.webp", category: "sneaker" as const, createdAt: timestamp(), attempt: 0 };
      await queue.add(AI_JOB_NAME, data, { jobId: assetId });
      await events.emit({ ...progress(assetId), runId: assetId });
      // What BullMQ itself reads back (GET /api/assets/:id shows it).
      expect((await queue.getJob(assetId))?.progress).toEqual({ stage: "analyzing", progress: 60 });
      // After the run's final event the report is dropped, and the job keeps what it had.
      await writer.write(processed(assetId), { final: outcomeIdFor(assetId) });
      await events.emit({ ...progress(assetId), payload: { ...progress(assetId).payload, stage: "storing", progress: 85 }, runId: assetId });
      expect((await queue.getJob(assetId))?.progress).toEqual({ stage: "analyzing", progress: 60 });
      // A run with no job (removed, or never queued) gets no stray hash.
      const orphan = new Types.ObjectId().toHexString();
      await events.emit({ ...progress(orphan), runId: orphan });
      expect(await redis.exists(jobKeyOf(prefix, AI_QUEUE, orphan))).toBe(0);
    } finally {
      await queue.close();
      await events.close();
    }
  });

  test("an event that does not fit the event map is refused before anything is written", async () => {
    const events = new ClientEvents(redis, prefix);
    try {
      const assetId = new Types.ObjectId().toHexString();
      const bad = { userId, event: "asset_progress", payload: { assetId, stage: "uploading", progress: 10, timestamp: timestamp() }, runId: assetId };
      await expect(events.emit(bad as never)).rejects.toThrow();
      expect(await streamed(assetId)).toEqual([]);
    } finally {
      await events.close();
    }
  });
});
