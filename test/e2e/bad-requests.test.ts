/**
 * Every bad upload and every bad token gets the right 4xx with the
 * JSON error shape, and creates no Asset.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Types } from "mongoose";
import { upload } from "../helpers/api.ts";
import { productPhoto } from "../helpers/images.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, rawToken, tokenFor } from "../helpers/tokens.ts";

let stack: Stack;
const userId = newUserId();
let token: string;
let png: Uint8Array;

beforeAll(async () => {
  stack = await Stack.start({ services: ["ingest", "gateway"] });
  token = await tokenFor(userId);
  png = await productPhoto({ format: "png" });
});
afterAll(() => stack?.stop());

async function expectRejected(response: Response, status: number, code: string, messagePart?: RegExp) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toContain("application/json");
  const body = await response.json();
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  if (messagePart) expect(body.error.message).toMatch(messagePart);
}

async function assetCount(): Promise<number> {
  const db = await stack.db();
  return db.collection("assets").countDocuments({ userId: new Types.ObjectId(userId) });
}

describe("bad uploads", () => {
  test("no image: 400", async () => {
    await expectRejected(await upload(stack.gatewayUrl, token, { category: "sneaker" }), 400, "bad_request", /image/);
  });
  test("no category: 400", async () => {
    await expectRejected(await upload(stack.gatewayUrl, token, { image: png }), 400, "bad_request", /category/);
  });
  test("unknown category: 400", async () => {
    await expectRejected(await upload(stack.gatewayUrl, token, { image: png, category: "spaceship" }), 400, "bad_request", /sneaker, lego, camera, other/);
  });
  test("a text file sent as image/png: 415", async () => {
    await expectRejected(
      await upload(stack.gatewayUrl, token, { image: "just some text, not a picture", category: "other", type: "image/png" }),
      415,
      "unsupported_media_type",
    );
  });
  test("a text file named .txt with no image bytes: 415", async () => {
    await expectRejected(
      await upload(stack.gatewayUrl, token, { image: "hello", category: "other", filename: "notes.txt", type: "text/plain" }),
      415,
      "unsupported_media_type",
    );
  });
  test("10 MB + 1 byte: 413", async () => {
    const big = new Uint8Array(10 * 1024 * 1024 + 1);
    big.set(png.subarray(0, 16)); // a PNG header, so only the size is wrong
    await expectRejected(await upload(stack.gatewayUrl, token, { image: big, category: "other" }), 413, "payload_too_large");
  });
  test("exactly 10 MB with a PNG signature is not rejected for size", async () => {
    const edge = new Uint8Array(10 * 1024 * 1024);
    edge.set(png);
    const response = await upload(stack.gatewayUrl, token, { image: edge, category: "other" });
    // Accepted (202): the body limit is on the image, not on the multipart envelope.
    expect(response.status).toBe(202);
    const db = await stack.db();
    await db.collection("assets").deleteMany({ userId: new Types.ObjectId(userId) });
  });
  test("a body that is not multipart: 400", async () => {
    const response = await fetch(`${stack.gatewayUrl}/api/assets/analyze-queue`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ category: "lego" }),
    });
    await expectRejected(response, 400, "bad_request", /multipart/);
  });
});

describe("bad tokens", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: [string, () => Promise<string | undefined>, RegExp][] = [
    ["no token", async () => undefined, /Authorization|Bearer/i],
    ["expired token", () => tokenFor(userId, { expiresInS: -60 }), /expired/],
    ["token without exp", () => rawToken({ alg: "HS256", typ: "JWT" }, { sub: userId, iat: now() }), /exp/],
    ["alg none", () => rawToken({ alg: "none", typ: "JWT" }, { sub: userId, exp: now() + 3600 }), /algorithm|malformed/],
    ["wrong signature", () => tokenFor(userId, { secret: "another-secret-0123456789" }), /signature/],
    ["HS512 instead of HS256", async () => rawToken({ alg: "HS512", typ: "JWT" }, { sub: userId, exp: now() + 3600 }), /algorithm/],
    ["sub that is not an ObjectId", () => rawToken({ alg: "HS256", typ: "JWT" }, { sub: "alice", exp: now() + 3600 }), /sub/],
  ];
  for (const [name, makeToken, reason] of cases) {
    test(`${name}: 401 naming the reason`, async () => {
      await expectRejected(await upload(stack.gatewayUrl, await makeToken(), { image: png, category: "sneaker" }), 401, "unauthorized", reason);
    });
  }

  test("a request straight to ingest, bypassing the gateway, is 401 even with a valid user token", async () => {
    const ingest = stack.get("ingest").url;
    await expectRejected(await upload(ingest, token, { image: png, category: "sneaker" }), 401, "unauthorized");
    await expectRejected(await upload(ingest, undefined, { image: png, category: "sneaker" }), 401, "unauthorized");
    const list = await fetch(`${ingest}/api/assets`, { headers: { authorization: `Bearer ${token}` } });
    await expectRejected(list, 401, "unauthorized");
  });
});

describe("after all of them", () => {
  test("no Asset was created", async () => {
    expect(await assetCount()).toBe(0);
  });
  test("GET of a malformed or unknown id is 404, not 500", async () => {
    for (const id of ["not-an-id", new Types.ObjectId().toHexString()]) {
      await expectRejected(await fetch(`${stack.gatewayUrl}/api/assets/${id}`, { headers: { authorization: `Bearer ${token}` } }), 404, "not_found");
    }
  });
  test("a bad list query is 400", async () => {
    await expectRejected(await fetch(`${stack.gatewayUrl}/api/assets?status=bogus`, { headers: { authorization: `Bearer ${token}` } }), 400, "bad_request");
    await expectRejected(await fetch(`${stack.gatewayUrl}/api/assets?limit=0`, { headers: { authorization: `Bearer ${token}` } }), 400, "bad_request");
  });
});
