/**
 * Fair share of `ai-processing` between users, over a real stack: one ai-worker slot and a slow
 * OpenAI stand-in (150 ms a call), so jobs run one at a time and their order is the order the
 * Assets were finished in. The queue is paused while the uploads arrive, so every job waits and
 * the order is the fair share's alone. Orders are asserted, never timings.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { QueueList } from "@pipeline/contracts/admin";
import { getJson, setAiQueuePaused, submitUpload } from "../helpers/api.ts";
import { productPhoto } from "../helpers/images.ts";
import { eventually } from "../helpers/sockets.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";
import { analyzerEnv, type OpenAiStandIn, startOpenAiStandIn } from "../standins/openai.ts";

let stack: Stack;
let ai: OpenAiStandIn;
let adminToken: string;
let photo: Uint8Array;

beforeAll(async () => {
  ai = startOpenAiStandIn({ apiKey: "test-key", delayMs: 150 });
  stack = await Stack.start({
    env: {
      ...analyzerEnv(ai, "test-key"),
      WORKER_CONCURRENCY: "1",
      RATE_LIMIT_PER_MINUTE: "100000",
      UPLOAD_RATE_LIMIT_PER_MINUTE: "100000",
    },
  });
  stack.onStop(ai);
  adminToken = await tokenFor(newUserId(), { role: "admin" });
  photo = await productPhoto({ format: "png", size: 96 });
}, 60_000);
afterAll(() => stack?.stop());

const setPaused = async (paused: boolean) => expect(await setAiQueuePaused(stack.gatewayUrl, adminToken, paused)).toBe(true);

/** Uploads `count` photos as `user`, one after another; their asset ids in upload order. */
async function uploads(user: string, count: number): Promise<string[]> {
  const token = await tokenFor(user);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await submitUpload(stack.gatewayUrl, token, photo)).assetId);
  return ids;
}

/** The Assets' owners in the order they were finished, once every one of `assetIds` is active. */
async function finishingOrder(assetIds: string[], timeoutMs = 60_000): Promise<{ userId: string; assetId: string }[]> {
  const assets = (await stack.db()).collection("assets");
  const done = async () => assets.find({ status: "active" }).toArray();
  await eventually(async () => (await done()).length >= assetIds.length, timeoutMs, `${assetIds.length} assets active`);
  const finished = (await done()).filter((asset) => assetIds.includes(asset._id.toHexString()));
  finished.sort((a, b) => a.aiMetadata.processedAt.getTime() - b.aiMetadata.processedAt.getTime());
  return finished.map((asset) => ({ userId: asset.userId.toHexString(), assetId: asset._id.toHexString() }));
}

async function clearAssets() {
  await (await stack.db()).collection("assets").deleteMany({});
}

test("two users: the second user's jobs alternate with the first's backlog, each user's in upload order", async () => {
  await clearAssets();
  const [a, b] = [newUserId(), newUserId()];
  await setPaused(true);
  const ofA = await uploads(a, 6);
  const ofB = await uploads(b, 3);
  // While paused, admins see each user's backlog, largest first.
  const queues = (await (await getJson(stack.gatewayUrl, "/api/admin/queues", adminToken)).json()) as QueueList;
  const ai = queues.queues.find((queue) => queue.name === "ai-processing");
  expect(ai?.backlogs?.map(({ userId, waiting }) => ({ userId, waiting }))).toEqual([
    { userId: a, waiting: 6 },
    { userId: b, waiting: 3 },
  ]);
  await setPaused(false);
  const order = await finishingOrder([...ofA, ...ofB]);
  expect(order.map((entry) => (entry.userId === a ? "a" : "b")).join("")).toBe("abababaaa");
  expect(order.filter((entry) => entry.userId === a).map((entry) => entry.assetId)).toEqual(ofA);
  expect(order.filter((entry) => entry.userId === b).map((entry) => entry.assetId)).toEqual(ofB);
  const after = (await (await getJson(stack.gatewayUrl, "/api/admin/queues", adminToken)).json()) as QueueList;
  expect(after.queues.find((queue) => queue.name === "ai-processing")?.backlogs).toEqual([]);
}, 90_000);

test("ten users: each round runs one job of every user with jobs left, whatever the order they arrived in", async () => {
  await clearAssets();
  const users = Array.from({ length: 10 }, () => newUserId());
  await setPaused(true);
  const ids: string[] = [];
  // Arrival: user 0's three, then user 1's three, …: first in, first out would run user 9 last.
  for (const user of users) ids.push(...(await uploads(user, 3)));
  await setPaused(false);
  const order = await finishingOrder(ids, 90_000);
  const rounds = [0, 1, 2].map((round) => order.slice(round * 10, round * 10 + 10).map((entry) => users.indexOf(entry.userId)));
  expect(rounds).toEqual([0, 1, 2].map(() => users.map((_, index) => index)));
}, 120_000);

test("a lone upload behind another user's backlog runs within about one job of it being queued", async () => {
  await clearAssets();
  const [heavy, lone] = [newUserId(), newUserId()];
  const backlog = await uploads(heavy, 20);
  const assets = (await stack.db()).collection("assets");
  const [single] = await uploads(lone, 1);
  // Counted after the lone upload was queued: at most this many of the backlog started before it.
  const finishedBefore = await assets.countDocuments({ status: "active" });
  const order = await finishingOrder([...backlog, single as string]);
  const position = order.findIndex((entry) => entry.assetId === single);
  // The job in flight, and the backlog's job of the same round (queued earlier), may go first.
  expect(position).toBeLessThanOrEqual(finishedBefore + 2);
  expect(position).toBeLessThan(10);
}, 90_000);
