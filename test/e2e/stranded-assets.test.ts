/**
 * An Asset left `processing` with no job (ingest died between writing it and
 * queueing its job) is found by ingest's sweep and finished; an Asset whose
 * job exists is left to its job.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AssetStore, openAssetStore } from "@pipeline/assets";
import { runIdFor } from "@pipeline/messaging";
import { connectMongo, type MongoConnection } from "@pipeline/runtime/mongo";
import { LocalStorage } from "@pipeline/storage";
import { Types } from "mongoose";
import { productPhoto } from "../helpers/images.ts";
import { waitForStatus } from "../helpers/outcomes.ts";
import { quietLogger, Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";

let stack: Stack;
let connection: MongoConnection;
let repository: AssetStore;
const user = newUserId();

beforeAll(async () => {
  stack = await Stack.start({ env: { SWEEP_INTERVAL_MS: "300", SWEEP_STALE_AFTER_MS: "1000" } });
  connection = await connectMongo(stack.mongoUrl, quietLogger, stack.dialectSetting);
  repository = openAssetStore(connection);
}, 60_000);

afterAll(async () => {
  await connection?.client.close();
  await stack?.stop();
});

describe("stranded assets", () => {
  test("an Asset written without its job is queued again by the sweep and ends active", async () => {
    // What ingest leaves behind when it dies between the two writes: the original stored, the Asset processing, no job.
    const storage = new LocalStorage(stack.storageDir, stack.env.PUBLIC_URL as string);
    const { url } = await storage.save(await productPhoto({ format: "png" }), { kind: "original", contentType: "image/png" });
    const id = new Types.ObjectId();
    await repository.createProcessing({ id, userId: user, category: "sneaker", originalUrl: url, jobId: runIdFor(id.toHexString()) });

    const asset = await waitForStatus(stack.gatewayUrl, await tokenFor(user), id.toHexString(), "active", 30_000);
    expect(asset.images.processed.url).toStartWith(`${stack.gatewayUrl}/media/`);
  }, 60_000);
});
