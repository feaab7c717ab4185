import { describe, expect, test } from "bun:test";
import type { ClientEventJob } from "./events.ts";
import { webhookEventFor, webhookPayloadSchema } from "./webhooks.ts";

const USER = "65f1c0ffee0123456789abcd";
const ASSET = "65f1c0ffee0123456789abce";
const TIMESTAMP = "2024-05-01T10:20:30.456Z";
const detection = { value: "Canon", confidence: 0.9 };
const success = {
  event: "asset_processed",
  assetId: ASSET,
  status: "active",
  aiMetadata: { brand: detection, model: detection, colorway: detection },
  processedImageUrl: "https://media.test/processed/1.png",
  timestamp: TIMESTAMP,
} as const;
const failure = { event: "asset_processed", assetId: ASSET, status: "failed", error: "AI service unavailable after 3 attempts", timestamp: TIMESTAMP } as const;
const deleted = { assetId: ASSET, timestamp: TIMESTAMP };

describe("webhookEventFor", () => {
  test.each([
    ["asset_processed (active) -> asset.processed", { userId: USER, event: "asset_processed", payload: success }, "asset.processed"],
    ["asset_processed (failed) -> asset.failed", { userId: USER, event: "asset_processed", payload: failure }, "asset.failed"],
    ["asset_deleted -> asset.deleted", { userId: USER, event: "asset_deleted", payload: deleted }, "asset.deleted"],
  ] as [string, ClientEventJob, string][])("%s, with the socket payload as data", (_, job, type) => {
    const event = webhookEventFor(job);
    expect(event).toEqual({ type, data: job.payload } as never);
    expect(webhookPayloadSchema.parse({ ...event, timestamp: TIMESTAMP })).toEqual({ type, timestamp: TIMESTAMP, data: job.payload } as never);
  });

  test.each([
    ["asset_progress", { userId: USER, event: "asset_progress", payload: { assetId: ASSET, stage: "analyzing", progress: 60, timestamp: TIMESTAMP } }],
    ["session", { userId: USER, event: "session", payload: { userId: USER, expiresAt: TIMESTAMP } }],
    ["session_expired", { userId: USER, event: "session_expired", payload: { reason: "token expired" } }],
  ] as [string, ClientEventJob][])("%s is not a webhook event", (_, job) => {
    expect(webhookEventFor(job)).toBeNull();
  });

  test("a payload whose data does not fit its type is refused", () => {
    expect(webhookPayloadSchema.safeParse({ type: "asset.processed", timestamp: TIMESTAMP, data: failure }).success).toBe(false);
  });
});
