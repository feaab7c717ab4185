/**
 * End to end over real processes: two users, three sockets, two
 * uploads (PNG and JPEG) through the gateway; each of A's sockets gets one
 * event per upload with the specification's payload, B gets nothing, and the stored
 * Asset matches.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AssetProcessedEvent, assetProcessedSuccessSchema } from "@pipeline/contracts/events";
import { Types } from "mongoose";
import { getJson, upload } from "../helpers/api.ts";
import { hasAlpha, productPhoto } from "../helpers/images.ts";
import { connectRecording, eventually, type RecordingSocket } from "../helpers/sockets.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";

let stack: Stack;
const userA = newUserId();
const userB = newUserId();
let tokenA: string;
let tokenB: string;
let socketsA: RecordingSocket[];
let socketB: RecordingSocket;
const accepted: { assetId: string; jobId: string; status: string }[] = [];

beforeAll(async () => {
  stack = await Stack.start();
  tokenA = await tokenFor(userA);
  tokenB = await tokenFor(userB);
  const notifier = stack.get("notifier").url;
  socketsA = [await connectRecording(notifier, tokenA), await connectRecording(notifier, tokenA, { transports: ["polling"] })];
  socketB = await connectRecording(notifier, tokenB);

  for (const format of ["png", "jpeg"] as const) {
    const response = await upload(stack.gatewayUrl, tokenA, {
      image: await productPhoto({ format }),
      category: "sneaker",
      filename: `shoe.${format}`,
      type: `image/${format}`,
    });
    expect(response.status).toBe(202);
    accepted.push(await response.json());
  }
  await eventually(() => socketsA.every((s) => s.events.length >= 2), 60_000, "both events on each of A's sockets");
  // Leave time for any duplicate to arrive before counting.
  await Bun.sleep(750);
}, 120_000);

afterAll(async () => {
  for (const socket of [...(socketsA ?? []), socketB]) socket?.close();
  await stack?.stop();
});

describe("upload to socket event", () => {
  test("202 answers carry the asset, the job and status processing", () => {
    for (const answer of accepted) {
      expect(Object.keys(answer).sort()).toEqual(["assetId", "jobId", "status"]);
      expect(answer.assetId).toMatch(/^[0-9a-f]{24}$/);
      expect(answer.jobId.length).toBeGreaterThan(0);
      expect(answer.status).toBe("processing");
    }
  });

  test("each of A's sockets receives exactly one specification-shaped success event per upload", () => {
    for (const socket of socketsA) {
      const ids = socket.events.map((event) => event.assetId).sort();
      expect(ids).toEqual(accepted.map((a) => a.assetId).sort());
      for (const event of socket.events) {
        // Field for field: strict() refuses any extra key.
        const parsed = assetProcessedSuccessSchema.strict().parse(event);
        expect(Object.keys(parsed.aiMetadata).sort()).toEqual(["brand", "colorway", "model"]);
        for (const detection of Object.values(parsed.aiMetadata)) expect(Object.keys(detection).sort()).toEqual(["confidence", "value"]);
        expect(new Date(parsed.timestamp).toISOString()).toBe(parsed.timestamp);
        expect(parsed.processedImageUrl.startsWith(`${stack.gatewayUrl}/media/`)).toBe(true);
      }
    }
  });

  test("user B's socket receives nothing, though it stayed connected throughout", () => {
    expect(socketB.socket.connected).toBe(true);
    expect(socketB.disconnects).toHaveLength(0);
    expect(socketB.events).toHaveLength(0);
  });

  test("GET /api/assets/:id shows active with the same metadata as the event", async () => {
    for (const { assetId } of accepted) {
      const response = await getJson(stack.gatewayUrl, `/api/assets/${assetId}`, tokenA);
      expect(response.status).toBe(200);
      const asset = await response.json();
      const event = socketsA[0]!.events.find((e) => e.assetId === assetId) as Extract<AssetProcessedEvent, { status: "active" }>;
      expect(asset.status).toBe("active");
      expect(asset.aiMetadata.brand).toEqual(event.aiMetadata.brand);
      expect(asset.aiMetadata.model).toEqual(event.aiMetadata.model);
      expect(asset.aiMetadata.colorway).toEqual(event.aiMetadata.colorway);
      expect(asset.images.processed.url).toBe(event.processedImageUrl);
      // The red shape's colorway is found by the local analyzer.
      expect(event.aiMetadata.colorway.value ?? "").toStartWith("Red");
    }
  });

  test("the processed image is served by the gateway as a PNG with transparency", async () => {
    const event = socketsA[0]!.events[0] as Extract<AssetProcessedEvent, { status: "active" }>;
    const response = await fetch(event.processedImageUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/png");
    expect(await hasAlpha(new Uint8Array(await response.arrayBuffer()))).toBe(true);
  });

  test("B's GET of A's asset is 404 with the error shape", async () => {
    const response = await getJson(stack.gatewayUrl, `/api/assets/${accepted[0]!.assetId}`, tokenB);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: "not_found", message: expect.any(String) } });
  });

  test("GET /api/assets lists A's assets newest first and B's list is empty", async () => {
    const listA = await (await getJson(stack.gatewayUrl, "/api/assets", tokenA)).json();
    expect(listA.items.map((a: { _id: string }) => a._id)).toEqual(accepted.map((a) => a.assetId).reverse());
    const listB = await (await getJson(stack.gatewayUrl, "/api/assets", tokenB)).json();
    expect(listB.items).toEqual([]);
  });

  test("the stored Asset document has the specification's field names and types", async () => {
    const db = await stack.db();
    const doc = await db.collection("assets").findOne({ _id: new Types.ObjectId(accepted[0]!.assetId) });
    expect(doc).not.toBeNull();
    // The specification's fields, plus category (needed to queue again on retry), timestamps and, in the
    // FerretDB v1 adapter's layout only, the list bucket (never sent to clients).
    const ownFields = (await stack.assetStore()).dialect === "ferretdb-v1" ? ["listBucket"] : [];
    expect(Object.keys(doc!).sort()).toEqual(
      ["_id", "aiMetadata", "category", "createdAt", "images", ...ownFields, "processingJobId", "status", "updatedAt", "userId"].sort(),
    );
    expect(doc!._id).toBeInstanceOf(Types.ObjectId);
    expect(doc!.userId).toBeInstanceOf(Types.ObjectId);
    expect(doc!.userId.toHexString()).toBe(userA);
    expect(doc!.status).toBe("active");
    expect(typeof doc!.images.original.url).toBe("string");
    expect(typeof doc!.images.processed.url).toBe("string");
    // The specification's four, and where they came from (analyzer, model, calibrated or not).
    expect(Object.keys(doc!.aiMetadata).sort()).toEqual(["brand", "colorway", "model", "processedAt", "source"]);
    expect(doc!.aiMetadata.source).toEqual({ analyzer: "local", calibrated: true });
    for (const key of ["brand", "model", "colorway"]) {
      const detection = doc!.aiMetadata[key];
      expect(Object.keys(detection).sort()).toEqual(["confidence", "value"]);
      expect(detection.value === null || typeof detection.value === "string").toBe(true);
      expect(typeof detection.confidence).toBe("number");
    }
    expect(doc!.aiMetadata.processedAt).toBeInstanceOf(Date);
    expect(doc!.processingJobId).toBe(accepted[0]!.jobId);
    if (ownFields.length) expect(doc!.listBucket).toBe(0);
  });
});
