import { describe, expect, test } from "bun:test";
import { CLIENT_EVENTS, clientEventJobSchema } from "./events.ts";

const USER = "65f1c0ffee0123456789abcd";
const ASSET = "65f1c0ffee0123456789abce";
const TIMESTAMP = "2024-05-01T10:20:30.456Z";

const VALID = {
  success: {
    event: "asset_processed",
    assetId: ASSET,
    status: "active",
    aiMetadata: {
      brand: { value: "Canon", confidence: 0.9 },
      model: { value: "EOS R6", confidence: 0.8 },
      colorway: { value: null, confidence: 0 },
    },
    processedImageUrl: "https://media.test/processed/1.png",
    timestamp: TIMESTAMP,
  },
  failure: { event: "asset_processed", assetId: ASSET, status: "failed", error: "AI service unavailable after 3 attempts", timestamp: TIMESTAMP },
  progress: { assetId: ASSET, stage: "analyzing", progress: 60, timestamp: TIMESTAMP },
  deleted: { assetId: ASSET, timestamp: TIMESTAMP },
  session: { userId: USER, expiresAt: TIMESTAMP },
  session_expired: { reason: "token expired" },
} as const;

describe("clientEventJobSchema", () => {
  test.each([
    ["asset_processed (active)", "asset_processed", VALID.success],
    ["asset_processed (failed)", "asset_processed", VALID.failure],
    ["asset_progress", "asset_progress", VALID.progress],
    ["asset_deleted", "asset_deleted", VALID.deleted],
    ["session", "session", VALID.session],
    ["session_expired", "session_expired", VALID.session_expired],
  ] as const)("accepts %s with a valid payload", (_label, event, payload) => {
    const parsed = clientEventJobSchema.safeParse({ userId: USER, event, payload });

    expect(parsed.error).toBeUndefined();
    expect(parsed.data).toEqual({ userId: USER, event, payload } as never);
  });

  test("the cases above cover every event of the map", () => {
    expect([...CLIENT_EVENTS].sort()).toEqual(["asset_deleted", "asset_processed", "asset_progress", "session", "session_expired"]);
  });

  test("rejects an event that is not in the map", () => {
    const parsed = clientEventJobSchema.safeParse({ userId: USER, event: "join", payload: { room: `user:${USER}` } });

    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(["event"]);
  });

  test("rejects asset_processed with status active but no aiMetadata, naming the payload's field", () => {
    const { aiMetadata: _missing, ...payload } = VALID.success;

    const parsed = clientEventJobSchema.safeParse({ userId: USER, event: "asset_processed", payload });

    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path)).toContainEqual(["payload", "aiMetadata"]);
  });

  test("rejects a payload that belongs to another event", () => {
    const parsed = clientEventJobSchema.safeParse({ userId: USER, event: "asset_processed", payload: VALID.session });

    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path[0]).toBe("payload");
  });

  test("rejects a failure payload without its error", () => {
    const { error: _missing, ...payload } = VALID.failure;

    const parsed = clientEventJobSchema.safeParse({ userId: USER, event: "asset_processed", payload });

    expect(parsed.error?.issues.map((issue) => issue.path)).toContainEqual(["payload", "error"]);
  });

  test("rejects a user id that is not an ObjectId", () => {
    const parsed = clientEventJobSchema.safeParse({ userId: "alice", event: "session_expired", payload: VALID.session_expired });

    expect(parsed.error?.issues[0]?.path).toEqual(["userId"]);
  });
});

describe("asset_progress", () => {
  test("rejects a stage the worker does not report, and progress outside 0-100", () => {
    const job = (payload: object) => clientEventJobSchema.safeParse({ userId: USER, event: "asset_progress", payload: { ...VALID.progress, ...payload } });
    expect(job({ stage: "uploading" }).success).toBe(false);
    expect(job({ progress: 101 }).success).toBe(false);
    expect(job({ progress: -1 }).success).toBe(false);
  });
});
