/**
 * GET /api/assets: the caller's Assets only, newest first, by cursor or page,
 * filtered by status and updatedSince (each store adapter's own paging is
 * test/e2e/asset-store.test.ts's).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type AssetDoc, openAssetStore } from "@pipeline/assets";
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

test("a cursor of the other dialect's adapter is a 400, the services' own cursor pages on", async () => {
  const store = await stack.assetStore();
  const other = openAssetStore({ db: (await stack.mongoConnection()).db, dialect: store.dialect === "mongodb" ? "ferretdb-v1" : "mongodb" });
  const first = await list("limit=2");
  const last = (await store.findById(first.items[1]._id)) as AssetDoc;
  const response = await getJson(stack.gatewayUrl, `/api/assets?limit=2&cursor=${other.cursorAfter(last)}`, token);
  expect(response.status).toBe(400);
  expect((await response.json()).error).toMatchObject({ code: "bad_request", message: "cursor is invalid" });
  expect(idsOf(await list(`limit=2&cursor=${first.nextCursor}`))).toEqual([...ids].reverse().slice(2, 4));
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
