/**
 * @pipeline/client against real processes: upload, the typed event, get, list
 * (page by page), retry, its errors, and the catch-up pattern of docs/api-and-events.md: an
 * asset processed while the socket was away arrives exactly once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiError, type AssetProcessedEvent, type AssetResponse, type Client, createClient } from "@pipeline/client";
import { productPhoto } from "../helpers/images.ts";
import { eventually } from "../helpers/sockets.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";
import { type OpenAiStandIn, SAMPLE_METADATA, startOpenAiStandIn } from "../standins/openai.ts";

let stack: Stack;
let ai: OpenAiStandIn;
let client: Client;
let photo: Uint8Array;
const events: AssetProcessedEvent[] = [];
const connects: { recovered: boolean }[] = [];

beforeAll(async () => {
  ai = startOpenAiStandIn({ apiKey: "test-key" });
  stack = await Stack.start({
    env: { ANALYZER: "openai", AI_BASE_URL: ai.url, AI_API_KEY: "test-key", AI_MODEL: "stand-in-vision", JOB_BACKOFF_MS: "200" },
  });
  stack.onStop(ai);
  client = createClient({ baseUrl: stack.gatewayUrl, token: await tokenFor(newUserId()), notifierUrl: stack.get("notifier").url });
  photo = await productPhoto({ format: "png" });
  stack.onStop(client.subscribe({ asset_processed: (event) => events.push(event), onConnect: (info) => connects.push(info) }, { transports: ["websocket"] }));
  await eventually(() => connects.length === 1, 10_000, "the subscription to connect");
}, 120_000);

afterAll(() => stack?.stop());

const eventFor = (assetId: string) => events.find((event) => event.assetId === assetId);

async function uploadAndWait(status: "active" | "failed" = "active"): Promise<AssetProcessedEvent> {
  const { assetId } = await client.upload(photo, { category: "sneaker", filename: "shoe.png" });
  await eventually(() => eventFor(assetId) !== undefined, 30_000, `the event of ${assetId}`);
  const event = eventFor(assetId) as AssetProcessedEvent;
  expect(event.status).toBe(status);
  return event;
}

describe("the client", () => {
  test("uploads, gets the typed asset_processed event, and gets the asset", async () => {
    const accepted = await client.upload(new Blob([photo as BlobPart], { type: "image/png" }), { category: "sneaker", filename: "shoe.png" });
    expect(accepted.status).toBe("processing");
    expect(accepted.assetId).toMatch(/^[0-9a-f]{24}$/);

    await eventually(() => eventFor(accepted.assetId) !== undefined, 30_000, "the event");
    const event = eventFor(accepted.assetId) as AssetProcessedEvent;
    if (event.status !== "active") throw new Error(`expected active, got ${JSON.stringify(event)}`);
    // Typed: aiMetadata exists on the active branch of the union.
    expect(event.aiMetadata.brand).toEqual(SAMPLE_METADATA.brand);
    expect(event.processedImageUrl).toStartWith("http");

    const asset: AssetResponse = await client.get(accepted.assetId);
    expect(asset).toMatchObject({ id: accepted.assetId, status: "active", category: "sneaker" });
    expect(asset.aiMetadata?.model).toEqual(SAMPLE_METADATA.model);
  }, 60_000);

  test("lists every asset by following nextCursor, page by page", async () => {
    await uploadAndWait();
    await uploadAndWait();
    const pages = [];
    for await (const page of client.list({ limit: 1 })) pages.push(page);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.every((page) => page.items.length === 1)).toBe(true);
    expect(pages.at(-1)?.nextCursor).toBeNull();
    const ids = pages.map((page) => page.items[0]?.id);
    expect(new Set(ids).size).toBe(ids.length);

    const active = [];
    for await (const page of client.list({ status: "active", limit: 100 })) active.push(...page.items);
    expect(active.length).toBe(ids.length);
  }, 90_000);

  test("retries a failed asset; retrying an active one is ApiError 409", async () => {
    ai.script({ kind: "error", status: 401 });
    const failed = await uploadAndWait("failed");
    const retried = await client.retry(failed.assetId);
    expect(retried).toMatchObject({ assetId: failed.assetId, status: "processing" });
    await eventually(() => events.filter((event) => event.assetId === failed.assetId).length === 2, 30_000, "the retry's outcome");
    expect((await client.get(failed.assetId)).status).toBe("active");

    const error = await client.retry(failed.assetId).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 409, code: "conflict" });
  }, 90_000);

  test("errors: 404, 401, 415 and an unreachable gateway are ApiErrors", async () => {
    await expect(client.get(newUserId())).rejects.toMatchObject({ status: 404, code: "not_found" });
    const stranger = createClient({ baseUrl: stack.gatewayUrl, token: "not-a-jwt" });
    await expect(stranger.get(newUserId())).rejects.toMatchObject({ status: 401, code: "unauthorized" });
    const text = new Blob(["just some text"], { type: "text/plain" });
    await expect(client.upload(text, { category: "sneaker", filename: "notes.txt" })).rejects.toMatchObject({
      status: 415,
      code: "unsupported_media_type",
    });
    const nowhere = createClient({ baseUrl: "http://127.0.0.1:1", token: "t" });
    await expect(nowhere.get(newUserId())).rejects.toMatchObject({ status: 0, code: "unreachable" });
  });

  test("after a reconnect, an asset processed while disconnected is caught up exactly once", async () => {
    const caughtUp: AssetResponse[] = [];
    const seen: AssetProcessedEvent[] = [];
    const feedConnects: { recovered: boolean }[] = [];
    const feed = stack.onStop(
      client.subscribe(
        { asset_processed: (event) => seen.push(event), onCatchUp: (assets) => caughtUp.push(...assets), onConnect: (info) => feedConnects.push(info) },
        { transports: ["websocket"] },
      ),
    );
    await eventually(() => feedConnects.length === 1, 10_000, "the feed to connect");

    feed.socket.disconnect();
    const { assetId } = await client.upload(photo, { category: "sneaker", filename: "away.png" });
    await eventually(async () => (await client.get(assetId)).status === "active", 30_000, "processing while away");

    feed.socket.connect();
    await eventually(() => feedConnects.length === 2, 10_000, "the reconnect");
    const deliveries = () => caughtUp.filter((asset) => asset.id === assetId).length + seen.filter((event) => event.assetId === assetId).length;
    await eventually(() => deliveries() >= 1, 10_000, "the catch-up");

    // Another reconnect finds it again, and must not hand it over twice.
    feed.socket.disconnect();
    feed.socket.connect();
    await eventually(() => feedConnects.length === 3, 10_000, "the second reconnect");
    await Bun.sleep(1000);
    expect(deliveries()).toBe(1);
    expect(caughtUp.find((asset) => asset.id === assetId)?.status).toBe("active");
    feed.close();
  }, 60_000);
});
