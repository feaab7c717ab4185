/** Waiting on outcomes: a socket's events for one asset, and an Asset's status through the API. */
import type { AssetProcessedEvent } from "@pipeline/contracts";
import { getJson } from "./api.ts";
import { type RecordingSocket, eventually } from "./sockets.ts";

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
