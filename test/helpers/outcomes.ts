/**
 * Outcomes in tests: waiting on a socket's events for one asset or an Asset's
 * status through the API, and injecting outcomes on `asset-outcomes` exactly
 * as the ai-worker publishes them.
 */

import { ASSET_PROCESSED_EVENT, type AssetProcessedEvent } from "@pipeline/contracts/events";
import { ClientEvents, runIdFor } from "@pipeline/messaging";

import type { RedisClient } from "@pipeline/runtime/redis";
import { Types } from "mongoose";
import { getJson } from "./api.ts";
import { eventually, type RecordingSocket } from "./sockets.ts";

export function eventsFor(socket: RecordingSocket, assetId: string): AssetProcessedEvent[] {
  return socket.events.filter((event) => event.assetId === assetId);
}

export async function waitForEvent(socket: RecordingSocket, assetId: string, timeoutMs = 30_000): Promise<AssetProcessedEvent> {
  await eventually(() => eventsFor(socket, assetId).length > 0, timeoutMs, `asset_processed for ${assetId}`);
  return eventsFor(socket, assetId)[0] as AssetProcessedEvent;
}

export async function assetOf(baseUrl: string, token: string, assetId: string) {
  const response = await getJson(baseUrl, `/api/assets/${assetId}`, token);
  if (response.status !== 200) throw new Error(`GET asset ${assetId}: ${response.status} ${await response.text()}`);
  return response.json();
}

export async function waitForStatus(baseUrl: string, token: string, assetId: string, status: string, timeoutMs = 30_000) {
  await eventually(async () => (await assetOf(baseUrl, token, assetId)).status === status, timeoutMs, `asset ${assetId} to be ${status}`);
  return assetOf(baseUrl, token, assetId);
}

export class OutcomeInjector {
  readonly publisher: ClientEvents;
  private sent = 0;

  constructor(connection: RedisClient, prefix: string) {
    this.publisher = new ClientEvents(connection, prefix);
  }

  /** A specification-shaped payload: success for even `n`, failure for odd. */
  static payload(n: number, assetId = new Types.ObjectId().toHexString()): AssetProcessedEvent {
    const timestamp = new Date().toISOString();
    return n % 2 === 0
      ? {
          event: "asset_processed",
          assetId,
          status: "active",
          aiMetadata: {
            brand: { value: "Nike", confidence: 0.95 },
            model: { value: `Air Jordan ${n}`, confidence: 0.88 },
            colorway: { value: null, confidence: 0 },
          },
          processedImageUrl: `https://media.example.test/processed/${assetId}.png`,
          timestamp,
        }
      : { event: "asset_processed", assetId, status: "failed", error: `AI service unavailable after 3 attempts (${n})`, timestamp };
  }

  /** Publishes `count` outcomes for `userId`; returns their payloads in publishing order. */
  async publish(userId: string, count: number): Promise<AssetProcessedEvent[]> {
    const payloads = Array.from({ length: count }, () => OutcomeInjector.payload(this.sent++));
    await this.publisher.emitMany(payloads.map((payload) => ({ userId, event: ASSET_PROCESSED_EVENT, payload, runId: runIdFor(payload.assetId) })));
    return payloads;
  }

  close(): Promise<void> {
    return this.publisher.close();
  }
}
