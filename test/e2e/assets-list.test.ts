/**
 * GET /api/assets: the caller's Assets only, newest first, by cursor or page,
 * filtered by status and updatedSince; across list buckets, and for Assets
 * stored before buckets existed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ASSET_COUNTERS_COLLECTION, AssetRepository, assetModel, LIST_BUCKET_SIZE } from "@pipeline/assets";
import { Types } from "mongoose";
import { getJson, submitUpload } from "../helpers/api.ts";
import { productPhoto } from "../helpers/images.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";

// No worker: the Assets stay `processing`, so the listing is stable.
let stack: Stack;
let token: string;
const ids: string[] = [];
let startedAt: string;

beforeAll(async () => {
  stack = await Stack.start({ services: ["ingest", "gateway"] });
  token = await tokenFor(newUserId());
  const photo = await productPhoto({ format: "png" });
  startedAt = new Date().toISOString();
  for (let i = 0; i < 5; i++) ids.push((await submitUpload(stack.gatewayUrl, token, photo)).assetId);
  await submitUpload(stack.gatewayUrl, await tokenFor(newUserId()), photo); // someone else's
});
afterAll(() => stack?.stop());

const listAs = async (as: string, query: string) => {
  const response = await getJson(stack.gatewayUrl, `/api/assets?${query}`, as);
  expect(response.status).toBe(200);
  return response.json();
};
const list = (query: string) => listAs(token, query);
const idsOf = (page: { items: { _id: string }[] }) => page.items.map((item) => item._id);

/** Every page from the first by cursor, as `as`; each page's total must be `total`. */
async function walkByCursor(as: string, query: string, total: number): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await listAs(as, `${query}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(page.total).toBe(total);
    expect(page.items.every((item: object) => !("listBucket" in item))).toBe(true);
    seen.push(...idsOf(page));
    cursor = page.nextCursor;
  } while (cursor);
  return seen;
}

/** Every page by number until one has no next cursor. */
async function walkByPage(as: string, query: string): Promise<string[]> {
  const seen: string[] = [];
  for (let page = 1; ; page++) {
    const answer = await listAs(as, `${query}&page=${page}`);
    seen.push(...idsOf(answer));
    if (!answer.nextCursor) return seen;
  }
}

interface StoredAsset {
  _id: Types.ObjectId;
  status: string;
  createdAt: Date;
  listBucket?: number;
}

/** A user's stored Assets, newest first by (createdAt, _id), sorted here rather than by the code under test. */
async function storedNewestFirst(userId: string): Promise<StoredAsset[]> {
  const db = await stack.db();
  const docs = await db
    .collection<StoredAsset>("assets")
    .find({ userId: new Types.ObjectId(userId) })
    .toArray();
  return docs.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b._id.toHexString().localeCompare(a._id.toHexString()));
}
const hexIds = (docs: StoredAsset[]) => docs.map((doc) => doc._id.toHexString());

test("cursor pages walk the caller's Assets newest first, each once", async () => {
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await list(`limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    expect(page.total).toBe(5);
    seen.push(...idsOf(page));
    cursor = page.nextCursor;
    pages++;
  } while (cursor);
  expect(pages).toBe(3);
  expect(seen).toEqual([...ids].reverse());
});

test("page numbers give the same order", async () => {
  expect(idsOf(await list("limit=2&page=2"))).toEqual([ids[2]!, ids[1]!]);
  expect(idsOf(await list("limit=2&page=3"))).toEqual([ids[0]!]);
  expect(idsOf(await list("limit=2&page=4"))).toEqual([]);
});

test("status and updatedSince filter", async () => {
  expect((await list("status=processing")).total).toBe(5);
  expect((await list("status=active")).items).toEqual([]);
  expect(idsOf(await list(`updatedSince=${encodeURIComponent(startedAt)}`)).sort()).toEqual([...ids].sort());
  expect((await list(`updatedSince=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).items).toEqual([]);
});

test("bad paging input is 400", async () => {
  for (const query of ["cursor=garbage", "page=0", "limit=101", "updatedSince=yesterday", "cursor=x&page=2"]) {
    const response = await getJson(stack.gatewayUrl, `/api/assets?${query}`, token);
    expect(response.status).toBe(400);
    expect((await response.json()).error.code).toBe("bad_request");
  }
});

describe("across list buckets", () => {
  // 70 Assets, LIST_BUCKET_SIZE 32: buckets of 32, 32 and 6; every third failed. Made with the repository
  // ingest uses, because 70 uploads plus this listing would pass the gateway's rate limit for one user.
  const COUNT = 70;
  const userId = newUserId();
  let owner: string;
  let stored: StoredAsset[];

  beforeAll(async () => {
    owner = await tokenFor(userId);
    const repository = new AssetRepository(assetModel(await stack.db()));
    for (let i = 0; i < COUNT; i++) {
      const id = new Types.ObjectId();
      const hex = id.toHexString();
      await repository.createProcessing({ id, userId, category: "other", originalUrl: `https://media.test/${hex}.png`, jobId: hex });
      if (i % 3 === 2) await repository.markFailed(hex, hex, "failed for the test");
    }
    stored = await storedNewestFirst(userId);
  });

  test("each Asset is stored in bucket floor((n - 1) / 32) of its owner, and the counter holds n", async () => {
    const oldestFirst = [...stored].reverse();
    expect(oldestFirst.map((doc) => doc.listBucket)).toEqual(oldestFirst.map((_, i) => Math.floor(i / LIST_BUCKET_SIZE)));
    const counter = await (await stack.db()).collection(ASSET_COUNTERS_COLLECTION).findOne({ _id: new Types.ObjectId(userId) });
    expect(counter?.n).toBe(COUNT);
  });

  test("cursor pages walk every Asset once, newest first, with and without a status", async () => {
    for (const status of [undefined, "failed", "processing"]) {
      const expected = stored.filter((doc) => !status || doc.status === status);
      expect(await walkByCursor(owner, `limit=9${status ? `&status=${status}` : ""}`, expected.length)).toEqual(hexIds(expected));
    }
  });

  test("page numbers give the same order, with and without a status", async () => {
    for (const status of [undefined, "failed"]) {
      const expected = stored.filter((doc) => !status || doc.status === status);
      expect(await walkByPage(owner, `limit=9${status ? `&status=${status}` : ""}`)).toEqual(hexIds(expected));
    }
  });
});

describe("Assets stored before list buckets", () => {
  test("are numbered into buckets on the owner's first listing, and a new upload counts on", async () => {
    const userId = newUserId();
    const owner = await tokenFor(userId);
    const db = await stack.db();
    const start = Date.now() - 3600_000;
    // 40 documents as ingest stored them before this change: no listBucket, no counter.
    await db.collection("assets").insertMany(
      Array.from({ length: 40 }, (_, i) => {
        const _id = new Types.ObjectId();
        const at = new Date(start + i * 1000);
        const status = i % 4 === 0 ? "failed" : "active";
        return {
          _id,
          userId: new Types.ObjectId(userId),
          category: "lego",
          status,
          images: { original: { url: "https://media.test/x.png" } },
          processingJobId: _id.toHexString(),
          createdAt: at,
          updatedAt: at,
        };
      }),
    );
    const legacy = await storedNewestFirst(userId);

    expect(await walkByCursor(owner, "limit=7", 40)).toEqual(hexIds(legacy));
    expect(await walkByPage(owner, "limit=7&status=failed")).toEqual(hexIds(legacy.filter((doc) => doc.status === "failed")));
    const numbered = [...(await storedNewestFirst(userId))].reverse();
    expect(numbered.map((doc) => doc.listBucket)).toEqual(numbered.map((_, i) => Math.floor(i / LIST_BUCKET_SIZE)));

    const { assetId } = await submitUpload(stack.gatewayUrl, owner, await productPhoto({ format: "png" }));
    const first = await listAs(owner, "limit=3");
    expect(first.total).toBe(41);
    expect(idsOf(first)).toEqual([assetId, ...hexIds(legacy).slice(0, 2)]);
    expect((await db.collection("assets").findOne({ _id: new Types.ObjectId(assetId) }))?.listBucket).toBe(1);
  });
});

// Racing first uploads create the counter together. `total` is not checked here: FerretDB v1's
// findAndModify reads, then writes, so racing increments of one counter can be lost (MongoDB's are atomic).
test("parallel first uploads of one user all succeed and are all listed", async () => {
  const owner = await tokenFor(newUserId());
  const photo = await productPhoto({ format: "png" });
  const accepted = await Promise.all(Array.from({ length: 8 }, () => submitUpload(stack.gatewayUrl, owner, photo)));

  const listed = await listAs(owner, "limit=20");
  expect(idsOf(listed).sort()).toEqual(accepted.map((a) => a.assetId).sort());
});
