/**
 * The Asset and webhook stores against the real database, through both
 * adapters on the embedded server (the mongodb adapter there is correct, only
 * slower): newest-first pages by cursor and by number, totals, cursors each
 * adapter refuses from the other, the plans their queries get (`explain`),
 * index options compared at start, the FerretDB v1 layout's migration both
 * ways, and delivery expiry.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AssetDoc, type AssetStore, InvalidCursorError, migrateAssets, openAssetStore } from "@pipeline/assets";
import { ASSET_COUNTERS_COLLECTION, FerretDbAssetStore } from "@pipeline/assets/ferretdb-v1/store";
import { type MongoDialect, syncIndexes } from "@pipeline/runtime/mongo";
import { DELIVERIES_COLLECTION, openWebhookStore } from "@pipeline/webhooks";
import { FerretDbWebhookStore } from "@pipeline/webhooks/ferretdb-v1-store";
import { type Db, MongoClient, ObjectId } from "mongodb";
import { sharedMongoBase } from "../helpers/shared-servers.ts";

const DIALECTS: MongoDialect[] = ["mongodb", "ferretdb-v1"];
const BUCKET = 4; // the FerretDB adapter's bucket size here: 70 Assets make 18 buckets
let client: MongoClient;
let serverIsFerretDb: boolean;
const databases: Db[] = [];

beforeAll(async () => {
  client = await new MongoClient(await sharedMongoBase()).connect();
  serverIsFerretDb = typeof (await client.db("admin").command({ buildInfo: 1 })).ferretdbVersion === "string";
});
afterAll(async () => {
  for (const db of databases) await db.dropDatabase().catch(() => undefined);
  await client?.close();
});

function freshDb(): Db {
  const db = client.db(`store${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`);
  databases.push(db);
  return db;
}

function storeOf(db: Db, dialect: MongoDialect): AssetStore {
  return dialect === "ferretdb-v1" ? new FerretDbAssetStore(db, BUCKET) : openAssetStore({ db, dialect });
}

const hex = (docs: AssetDoc[]) => docs.map((doc) => doc._id.toHexString());

/** The user's Assets as stored, newest first (createdAt, then _id), computed here without the stores. */
async function storedNewestFirst(db: Db, userId: string, status?: string): Promise<string[]> {
  const docs = await db
    .collection<AssetDoc>("assets")
    .find({ userId: new ObjectId(userId), ...(status ? { status } : {}) } as never)
    .toArray();
  return hex(docs.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b._id.toHexString().localeCompare(a._id.toHexString())));
}

/** Every page by cursor (limit + 1 per query, as ingest asks); each page's total must be `total`. */
async function walkByCursor(store: AssetStore, userId: string, limit: number, total: number, status?: "failed"): Promise<string[]> {
  const seen: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 200; pages++) {
    const { items, total: counted } = await store.list({ userId, limit: limit + 1, ...(status ? { status } : {}), ...(after ? { after } : {}) });
    expect(counted).toBe(total);
    const shown = items.slice(0, limit);
    seen.push(...hex(shown));
    if (items.length <= limit) return seen;
    after = store.cursorAfter(shown.at(-1) as AssetDoc);
  }
  throw new Error("cursor paging did not end");
}

async function walkByPage(store: AssetStore, userId: string, limit: number): Promise<string[]> {
  const seen: string[] = [];
  for (let page = 1; page < 200; page++) {
    const { items } = await store.list({ userId, limit: limit + 1, skip: (page - 1) * limit });
    seen.push(...hex(items.slice(0, limit)));
    if (items.length <= limit) return seen;
  }
  throw new Error("page paging did not end");
}

async function createMany(store: AssetStore, userId: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const id = new ObjectId();
    await store.createProcessing({ id, userId, category: "other", originalUrl: `https://media.test/${id.toHexString()}.png`, jobId: id.toHexString() });
    if (i % 3 === 2) await store.markFailed(id.toHexString(), id.toHexString(), "failed for the test");
  }
}

/** The plan nodes of an explain answer, whichever server gave it (MongoDB's winningPlan tree, FerretDB's PostgreSQL plan). */
function planNodes(explain: Record<string, unknown>): Record<string, unknown>[] {
  const nodes: Record<string, unknown>[] = [];
  const visit = (node: unknown) => {
    if (!node || typeof node !== "object") return;
    nodes.push(node as Record<string, unknown>);
    for (const value of Object.values(node)) (Array.isArray(value) ? value : [value]).forEach(visit);
  };
  const planner = explain.queryPlanner as Record<string, unknown>;
  visit(planner.winningPlan ?? planner.Plan);
  return nodes;
}

/** The index names the plan reads (MongoDB: IXSCAN / COUNT_SCAN stages; FerretDB v1: PostgreSQL index scans). */
function indexesRead(explain: Record<string, unknown>): string[] {
  return planNodes(explain).flatMap((node) => {
    if (node.stage === "IXSCAN" || node.stage === "COUNT_SCAN") return [String(node.indexName)];
    if (typeof node["Node Type"] === "string" && /Index Scan/.test(node["Node Type"] as string)) return [String(node["Index Name"])];
    return [];
  });
}

describe.each(DIALECTS)("the %s adapter", (dialect) => {
  const COUNT = 70;
  const userId = new ObjectId().toHexString();
  let db: Db;
  let store: AssetStore;

  beforeAll(async () => {
    db = freshDb();
    store = storeOf(db, dialect);
    await store.syncIndexes();
    await createMany(store, userId, COUNT);
    await createMany(store, new ObjectId().toHexString(), 5); // someone else's
  });

  test("cursor pages give every Asset once, newest first, with and without a status, and the total", async () => {
    for (const limit of [1, 4, 9, 70]) expect(await walkByCursor(store, userId, limit, COUNT)).toEqual(await storedNewestFirst(db, userId));
    const failed = await storedNewestFirst(db, userId, "failed");
    expect(failed).toHaveLength(23);
    expect(await walkByCursor(store, userId, 5, failed.length, "failed")).toEqual(failed);
  });

  test("page numbers give the same order", async () => {
    expect(await walkByPage(store, userId, 9)).toEqual(await storedNewestFirst(db, userId));
  });

  test("a delete lowers the total; an upload writes the Asset and, on FerretDB v1 only, its owner's counter", async () => {
    const owner = new ObjectId().toHexString();
    await createMany(store, owner, 3);
    const [newest] = (await store.list({ userId: owner, limit: 1 })).items;
    expect(await store.deleteOwned((newest as AssetDoc)._id.toHexString(), owner)).not.toBeNull();
    expect((await store.list({ userId: owner, limit: 10 })).total).toBe(2);
    const counters = await db.collection(ASSET_COUNTERS_COLLECTION).countDocuments({ _id: new ObjectId(owner) } as never);
    expect(counters).toBe(dialect === "ferretdb-v1" ? 1 : 0);
  });

  test("a cursor of the other adapter, or garbage, is refused; never misread", async () => {
    const other = storeOf(db, dialect === "mongodb" ? "ferretdb-v1" : "mongodb");
    const [first] = (await store.list({ userId, limit: 1 })).items;
    for (const cursor of [other.cursorAfter(first as AssetDoc), "bm90LWEtY3Vyc29y", ""]) {
      await expect(store.list({ userId, limit: 2, after: cursor })).rejects.toBeInstanceOf(InvalidCursorError);
    }
    expect((await store.list({ userId, limit: 2, after: store.cursorAfter(first as AssetDoc) })).items).toHaveLength(2);
  });

  test("explain: each query of a page reads an index (IXSCAN on MongoDB, an index scan in FerretDB v1's SQL)", async () => {
    const [first] = (await store.list({ userId, limit: 1 })).items;
    for (const query of [
      { userId, limit: 21 },
      { userId, limit: 21, after: store.cursorAfter(first as AssetDoc) },
      { userId, limit: 21, status: "failed" as const },
    ]) {
      const plans = await store.explainList(query);
      expect(plans.length).toBeGreaterThan(0);
      for (const plan of plans) expect(indexesRead(plan)).not.toEqual([]);
      if (!serverIsFerretDb && dialect === "mongodb") {
        const wanted = query.status ? "userId_1_status_1_createdAt_-1__id_-1" : "userId_1_createdAt_-1__id_-1";
        expect(indexesRead(plans[0] as Record<string, unknown>)).toEqual([wanted]);
      }
    }
  });

  test("an index whose key matches but whose options differ is reported by name with the difference", async () => {
    const fresh = freshDb();
    await fresh.collection("assets").createIndex({ userId: 1, updatedAt: -1 }, { name: "catch_up", unique: true });
    const { differing } = await storeOf(fresh, dialect).syncIndexes();
    expect(differing).toContainEqual(expect.objectContaining({ index: "catch_up", options: { unique: { wanted: null, found: true } } }));
    expect((await fresh.collection("assets").indexes()).filter((index) => JSON.stringify(index.key) === '{"userId":1,"updatedAt":-1}')).toHaveLength(1);
  });
});

describe("bun run migrate's Asset step", () => {
  /** 40 Assets as ingest stored them before list buckets: no bucket, no counter. */
  async function legacyUser(db: Db): Promise<string> {
    const userId = new ObjectId();
    const start = Date.now() - 3600_000;
    await db.collection("assets").insertMany(
      Array.from({ length: 40 }, (_, i) => {
        const _id = new ObjectId();
        const at = new Date(start + i * 1000);
        return {
          _id,
          userId,
          category: "lego",
          status: i % 4 === 0 ? "failed" : "active",
          images: {},
          processingJobId: _id.toHexString(),
          createdAt: at,
          updatedAt: at,
        };
      }),
    );
    return userId.toHexString();
  }

  test("before it, the FerretDB v1 adapter lists them correctly with no migration work in the request; it numbers them once; and back", async () => {
    const db = freshDb();
    const userId = await legacyUser(db);
    const ferret = new FerretDbAssetStore(db);
    const expected = await storedNewestFirst(db, userId);
    expect(await ferret.pendingMigration()).toMatch(/bun run migrate/);

    expect(await walkByCursor(ferret, userId, 7, 40)).toEqual(expected);
    expect(await db.collection("assets").countDocuments({ listBucket: { $exists: true } })).toBe(0);
    expect(await db.collection(ASSET_COUNTERS_COLLECTION).countDocuments()).toBe(0);
    // An upload before the migration waits with the others, and is listed.
    await createMany(ferret, userId, 1);
    const withUpload = await storedNewestFirst(db, userId);
    expect(await walkByCursor(ferret, userId, 7, 41)).toEqual(withUpload);

    const lines: string[] = [];
    await migrateAssets(db, "ferretdb-v1", (line) => lines.push(line));
    expect(lines.join("\n")).toMatch(/numbering into list buckets: 1\/1 users \(41 Assets numbered\)/);
    const numbered = await db
      .collection("assets")
      .find({ userId: new ObjectId(userId) })
      .sort({ createdAt: 1, _id: 1 })
      .toArray();
    expect(numbered.map((doc) => doc.listBucket)).toEqual(numbered.map((_, i) => Math.floor(i / 32)));
    expect(await ferret.pendingMigration()).toBeNull();
    expect(await walkByCursor(ferret, userId, 7, 41)).toEqual(withUpload);

    const again: string[] = [];
    await migrateAssets(db, "ferretdb-v1", (line) => again.push(line));
    expect(again).toEqual(["assets: every Asset is in a list bucket and every owner has a counter: nothing to do"]);

    const back: string[] = [];
    await migrateAssets(db, "mongodb", (line) => back.push(line));
    expect(back.join("\n")).toMatch(/removing list buckets and counters: 1\/1 users/);
    expect(await db.collection("assets").countDocuments({ listBucket: { $exists: true } })).toBe(0);
    expect((await db.listCollections({ name: ASSET_COUNTERS_COLLECTION }).toArray()).length).toBe(0);
    const names = (await db.collection("assets").indexes()).map((index) => index.name);
    expect(names).toContain("userId_1_createdAt_-1__id_-1");
    expect(names).not.toContain("userId_1_listBucket_-1");
    expect(await walkByCursor(openAssetStore({ db, dialect: "mongodb" }), userId, 7, 41)).toEqual(withUpload);
  });
});

describe("webhook deliveries expire", () => {
  test("the FerretDB v1 adapter's sweep deletes deliveries past the retention, and only those", async () => {
    const db = freshDb();
    const store = new FerretDbWebhookStore(db, { retentionDays: 30 });
    const day = 86_400_000;
    const delivery = (id: string, ageDays: number) => ({
      _id: id,
      webhookId: new ObjectId(),
      userId: new ObjectId(),
      type: "asset_processed",
      status: "succeeded",
      attempts: [],
      createdAt: new Date(Date.now() - ageDays * day),
      updatedAt: new Date(),
    });
    await db.collection(DELIVERIES_COLLECTION).insertMany([delivery("msg_old", 31), delivery("msg_recent", 29)] as never[]);
    expect(await store.pruneDeliveries()).toBe(1);
    expect((await db.collection(DELIVERIES_COLLECTION).find().toArray()).map((doc) => doc._id)).toEqual(["msg_recent"] as never[]);
  });

  test("the mongodb adapter defines a TTL index of the retention (on MongoDB it is built; FerretDB v1 refuses TTL indexes)", async () => {
    const db = freshDb();
    const store = openWebhookStore({ db, dialect: "mongodb" }, { retentionDays: 7 });
    const synced = await store.syncIndexes().catch((error: Error) => error);
    if (serverIsFerretDb) {
      expect(String(synced)).toMatch(/expireAfterSeconds/);
    } else {
      const ttl = (await db.collection(DELIVERIES_COLLECTION).indexes()).find((index) => index.name === "createdAt_1");
      expect(ttl?.expireAfterSeconds).toBe(7 * 86_400);
    }
    // A key that matches with another retention is reported, not skipped.
    const { differing } = await syncIndexes(db.collection(DELIVERIES_COLLECTION), [
      { key: { webhookId: 1, createdAt: -1 }, name: "webhookId_1_createdAt_-1", expireAfterSeconds: 60 },
    ]);
    expect(differing).toEqual([expect.objectContaining({ index: "webhookId_1_createdAt_-1", options: { expireAfterSeconds: { wanted: 60, found: null } } })]);
  });
});
