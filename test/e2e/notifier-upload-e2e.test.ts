/**
 * End to end over the whole stack with three notifier replicas: a
 * real upload through the gateway reaches each of the owner's sockets (one
 * per replica, websocket and long-polling) exactly once, with what
 * GET /api/assets/:id shows, and no one else's. A client that was offline
 * for longer than recovery covers catches up with
 * GET /api/assets?updatedSince= on reconnecting (the client pattern of docs/api-and-events.md).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { getJson, upload } from "../helpers/api.ts";
import { productPhoto } from "../helpers/images.ts";
import { type AssetFeed, connectRecording, countByAsset, eventually, followAssets, type RecordingSocket } from "../helpers/sockets.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";

let stack: Stack;
const userA = newUserId();
const userB = newUserId();
let tokenA: string;
let socketsA: RecordingSocket[];
let socketB: RecordingSocket;
let feed: AssetFeed;
let first: { assetId: string };

async function uploadPhoto(color: string): Promise<{ assetId: string }> {
  const response = await upload(stack.gatewayUrl, tokenA, {
    image: await productPhoto({ format: "png", color }),
    category: "sneaker",
    filename: "shoe.png",
    type: "image/png",
  });
  expect(response.status).toBe(202);
  return response.json();
}

beforeAll(async () => {
  const startedAt = new Date().toISOString();
  stack = await Stack.start();
  await stack.add("notifier");
  await stack.add("notifier");
  const notifiers = stack.services.filter((s) => s.name === "notifier").map((s) => s.url) as [string, string, string];
  tokenA = await tokenFor(userA);
  socketsA = await Promise.all([
    connectRecording(notifiers[0], tokenA),
    connectRecording(notifiers[1], tokenA),
    connectRecording(notifiers[2], tokenA, { transports: ["polling"] }),
  ]);
  socketB = await connectRecording(notifiers[1], await tokenFor(userB));
  feed = followAssets({ notifierUrl: notifiers[2], apiUrl: stack.gatewayUrl, token: () => tokenA, since: startedAt });
  await eventually(() => feed.connects.length === 1 && feed.connects[0]!.caughtUp >= 0, 10_000, "the feed's first catch-up");

  first = await uploadPhoto("#d01010");
  await eventually(() => socketsA.every((s) => s.events.length >= 1) && feed.assets.has(first.assetId), 60_000, "the event on each of A's sockets");
  await Bun.sleep(750);
}, 120_000);

afterAll(async () => {
  for (const socket of [...(socketsA ?? []), socketB]) socket?.close();
  feed?.close();
  await stack?.stop();
});

describe("upload to event across three notifiers", () => {
  test("each of A's sockets gets the upload's event exactly once, matching the stored Asset; B gets nothing", async () => {
    for (const socket of socketsA) expect(countByAsset(socket.events)).toEqual(new Map([[first.assetId, 1]]));
    expect(socketB.events).toHaveLength(0);
    const asset = await (await getJson(stack.gatewayUrl, `/api/assets/${first.assetId}`, tokenA)).json();
    const event = socketsA[0]!.events[0]!;
    expect(event.status).toBe("active");
    expect(asset.status).toBe("active");
    if (event.status === "active") {
      expect(asset.aiMetadata.brand).toEqual(event.aiMetadata.brand);
      expect(asset.images.processed.url).toBe(event.processedImageUrl);
    }
    for (const socket of socketsA.slice(1)) expect(socket.events).toEqual(socketsA[0]!.events);
  });

  test("after a long outage the client catches up with GET /api/assets?updatedSince= on reconnecting", async () => {
    expect(feed.live).toEqual([first.assetId]);
    // Offline for longer than the recovery window: a client-side disconnect keeps no session to resume.
    feed.socket.disconnect();
    const second = await uploadPhoto("#1030d0");
    await eventually(
      async () => (await (await getJson(stack.gatewayUrl, `/api/assets/${second.assetId}`, tokenA)).json()).status === "active",
      60_000,
      "the second asset processed",
    );
    await eventually(() => socketsA.every((s) => s.events.length >= 2), 10_000, "the connected sockets' live event");

    feed.socket.connect();
    await eventually(() => feed.connects.length === 2 && feed.connects[1]!.caughtUp >= 0, 10_000, "the catch-up after reconnecting");
    expect(feed.connects[1]!.recovered).toBe(false);
    expect(feed.connects[1]!.caughtUp).toBeGreaterThanOrEqual(1);
    expect(feed.assets.get(second.assetId)).toBe("active");
    expect(feed.assets.get(first.assetId)).toBe("active");
    // It was never heard live: the catch-up alone brought it.
    expect(feed.live).toEqual([first.assetId]);
  }, 90_000);
});
