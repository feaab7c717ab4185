/**
 * The sockets' stream writer on a real Redis: what reaches the stream, and
 * what is dropped because the Asset was deleted or its run already
 * finished, each decided in one Lua call with the write.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ClientEventJob } from "@pipeline/contracts/events";
import { SocketStreamEmitter, socketStreamName } from "@pipeline/runtime/socket-stream";
import { Redis } from "ioredis";
import { Types } from "mongoose";
import { requireRedis, TEST_REDIS_URL } from "../helpers/shared-servers.ts";

const prefix = `sst${Date.now().toString(36)}`;
const userId = new Types.ObjectId().toHexString();
let redis: Redis;
let emitter: SocketStreamEmitter;

beforeAll(async () => {
  await requireRedis();
  redis = new Redis(TEST_REDIS_URL);
  emitter = new SocketStreamEmitter(redis, { prefix, maxLen: 1000 });
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

const timestamp = () => new Date().toISOString();
const progress = (assetId: string): ClientEventJob => ({
  userId,
  event: "asset_progress",
  payload: { assetId, stage: "analyzing", progress: 60, timestamp: timestamp() },
});
const processed = (assetId: string): ClientEventJob => ({
  userId,
  event: "asset_processed",
  payload: { event: "asset_processed", assetId, status: "failed", error: "AI service unavailable", timestamp: timestamp() },
});
const deleted = (assetId: string): ClientEventJob => ({ userId, event: "asset_deleted", payload: { assetId, timestamp: timestamp() } });

/** The events in the stream about `assetId`, in order. */
async function streamed(assetId: string): Promise<string[]> {
  const entries = await redis.xrange(socketStreamName(prefix), "-", "+");
  return entries
    .map(([, fields]) => JSON.parse(fields[fields.indexOf("data") + 1] as string).packet.data as [string, { assetId: string }])
    .filter(([, payload]) => payload.assetId === assetId)
    .map(([event]) => event);
}

describe("SocketStreamEmitter", () => {
  test("writes an event for the user's room, as an external emitter would", async () => {
    const assetId = new Types.ObjectId().toHexString();
    expect(await emitter.emit(progress(assetId), "run-1")).toMatch(/^\d+-\d+$/);
    const [latest] = await redis.xrevrange(socketStreamName(prefix), "+", "-", "COUNT", 1);
    const fields = latest?.[1] ?? [];
    const message: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) message[fields[i] as string] = fields[i + 1] as string;
    expect(message.uid).toBe("emitter");
    expect(JSON.parse(message.data as string).opts.rooms).toEqual([`user:${userId}`]);
  });

  test("a run's progress after its final event is dropped; a new run's progress is not", async () => {
    const assetId = new Types.ObjectId().toHexString();
    expect(await emitter.emit(progress(assetId), assetId)).not.toBeNull();
    expect(await emitter.emit(processed(assetId), assetId)).not.toBeNull();
    // A duplicate run of the same job, still going after a stall.
    expect(await emitter.emit(progress(assetId), assetId)).toBeNull();
    // A retry: a new job id.
    expect(await emitter.emit(progress(assetId), `${assetId}-r1`)).not.toBeNull();
    expect(await streamed(assetId)).toEqual(["asset_progress", "asset_processed", "asset_progress"]);
  });

  test("after the deletion marker, only asset_deleted is written about the Asset", async () => {
    const assetId = new Types.ObjectId().toHexString();
    await emitter.markDeleted(assetId, userId);
    expect(await emitter.deletedBy(assetId)).toBe(userId);
    expect(await emitter.emit(progress(assetId), assetId)).toBeNull();
    expect(await emitter.emit(processed(assetId), assetId)).toBeNull();
    expect(await emitter.emit(deleted(assetId))).not.toBeNull();
    expect(await streamed(assetId)).toEqual(["asset_deleted"]);
    await emitter.unmarkDeleted(assetId);
    expect(await emitter.emit(progress(assetId), "another-run")).not.toBeNull();
  });

  test("an event that does not fit the event map is refused before anything is written", async () => {
    const assetId = new Types.ObjectId().toHexString();
    const bad = { userId, event: "asset_progress", payload: { assetId, stage: "uploading", progress: 10, timestamp: timestamp() } };
    await expect(emitter.emit(bad as unknown as ClientEventJob)).rejects.toThrow();
    expect(await streamed(assetId)).toEqual([]);
  });
});
