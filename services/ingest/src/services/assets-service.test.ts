import { describe, expect, test } from "bun:test";
import type { AssetDoc } from "@pipeline/assets/model";
import { DependencyError, HttpError } from "@pipeline/runtime/http";
import { createLogger } from "@pipeline/runtime/logger";
import { ObjectId } from "mongodb";
import { AssetsService } from "./assets-service.ts";
import { FakeAssetStore, FakeQueue, FakeStorage } from "./fakes.test-helpers.ts";

const USER = new ObjectId().toHexString();
const OTHER_USER = new ObjectId().toHexString();
const IMAGE = new Uint8Array([0xff, 0xd8, 0xff, 0xe0]);

function setup() {
  const store = new FakeAssetStore();
  const storage = new FakeStorage();
  const queue = new FakeQueue();
  const service = new AssetsService(store, storage, queue, createLogger("ingest-test", "silent"));
  return { store, storage, queue, service };
}

/** A stored `failed` Asset of `userId` whose last run was `jobId` (its own id when omitted). */
function failedAsset(store: FakeAssetStore, userId = USER, jobId?: (id: string) => string): AssetDoc {
  const _id = new ObjectId();
  const at = new Date("2024-05-01T10:00:00.000Z");
  return store.add({
    _id,
    userId: new ObjectId(userId),
    category: "camera",
    status: "failed",
    images: { original: { url: "https://media.test/original/7.jpg" } },
    aiMetadata: { error: "AI service unavailable after 3 attempts (openai answered 503)" },
    processingJobId: jobId ? jobId(_id.toHexString()) : _id.toHexString(),
    createdAt: at,
    updatedAt: at,
  } as AssetDoc);
}

/** The rejection of `promise` (fails the test if it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject, but it resolved");
}

async function expectHttpError(promise: Promise<unknown>, status: number, message?: string | RegExp) {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(HttpError);
  expect((error as HttpError).status).toBe(status as HttpError["status"]);
  if (message !== undefined) expect((error as HttpError).message).toMatch(message);
}

describe("AssetsService.submitUpload", () => {
  test("stores the original, creates the Asset processing and enqueues its job under the asset id", async () => {
    const { store, storage, queue, service } = setup();

    const accepted = await service.submitUpload({ userId: USER, category: "sneaker", image: IMAGE, contentType: "image/jpeg" });

    expect(accepted).toEqual({ assetId: accepted.assetId, jobId: accepted.assetId, status: "processing" });
    expect(storage.saved).toEqual([{ bytes: IMAGE, options: { kind: "original", contentType: "image/jpeg" } }]);
    const asset = store.get(accepted.assetId);
    expect(asset).toMatchObject({ status: "processing", processingJobId: accepted.jobId, category: "sneaker" });
    expect(asset?.userId.toHexString()).toBe(USER);
    expect(queue.enqueued).toHaveLength(1);
    expect(queue.enqueued[0]?.jobId).toBe(accepted.jobId);
    expect(queue.enqueued[0]?.data).toMatchObject({
      assetId: accepted.assetId,
      userId: USER,
      imageUrl: "https://media.test/original/1.jpg",
      category: "sneaker",
      attempt: 0,
    });
  });

  test("when the job cannot be queued, the Asset is marked failed and the error propagates", async () => {
    const { store, queue, service } = setup();
    const down = new DependencyError("queue", new Error("ECONNREFUSED"));
    queue.failWith = down;

    const error = await rejectionOf(service.submitUpload({ userId: USER, category: "lego", image: IMAGE, contentType: "image/png" }));

    expect(error).toBe(down);
    const [asset] = store.assets.values();
    expect(asset?.status).toBe("failed");
    expect(asset?.aiMetadata?.error).toContain("could not be queued");
  });
});

describe("AssetsService.retry", () => {
  test("re-queues a failed Asset under the next job id and removes the old failed job", async () => {
    const { store, queue, service } = setup();
    const asset = failedAsset(store);
    const assetId = asset._id.toHexString();

    const accepted = await service.retry(assetId, USER);

    expect(accepted).toEqual({ assetId, jobId: `${assetId}-r1`, status: "processing" });
    expect(store.get(assetId)).toMatchObject({ status: "processing", processingJobId: `${assetId}-r1` });
    expect(store.get(assetId)?.aiMetadata?.error).toBeUndefined();
    expect(queue.enqueued.map((e) => e.jobId)).toEqual([`${assetId}-r1`]);
    expect(queue.enqueued[0]?.data).toMatchObject({ imageUrl: "https://media.test/original/7.jpg", category: "camera" });
    expect(queue.removed).toEqual([assetId]);
  });

  test("a second retry counts on from the previous one", async () => {
    const { store, service } = setup();
    const asset = failedAsset(store, USER, (id) => `${id}-r1`);

    const accepted = await service.retry(asset._id.toHexString(), USER);

    expect(accepted.jobId).toBe(`${asset._id.toHexString()}-r2`);
  });

  test("an Asset that is not failed is a 409 and nothing is queued", async () => {
    const { queue, service } = setup();
    const accepted = await service.submitUpload({ userId: USER, category: "sneaker", image: IMAGE, contentType: "image/jpeg" });

    await expectHttpError(service.retry(accepted.assetId, USER), 409, "this one is processing");
    expect(queue.enqueued).toHaveLength(1);
  });

  test("another user's Asset is a 404 and stays failed", async () => {
    const { store, queue, service } = setup();
    const asset = failedAsset(store, OTHER_USER);

    await expectHttpError(service.retry(asset._id.toHexString(), USER), 404);
    expect(store.get(asset._id.toHexString())?.status).toBe("failed");
    expect(queue.enqueued).toHaveLength(0);
  });

  test("when the retry cannot be queued, the Asset is failed again and the error propagates", async () => {
    const { store, queue, service } = setup();
    const asset = failedAsset(store);
    const assetId = asset._id.toHexString();
    queue.failWith = new DependencyError("queue");

    const error = await rejectionOf(service.retry(assetId, USER));

    expect(error).toBe(queue.failWith);
    expect(store.get(assetId)).toMatchObject({ status: "failed", processingJobId: `${assetId}-r1` });
    expect(queue.removed).toHaveLength(0);
  });
});

describe("AssetsService.list", () => {
  /** Five Assets of USER created a minute apart (index 0 oldest), plus one of another user. */
  function withFiveAssets() {
    const context = setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const at = new Date(Date.UTC(2024, 4, 1, 10, i));
      const _id = new ObjectId();
      ids.push(_id.toHexString());
      context.store.add({
        _id,
        userId: new ObjectId(USER),
        category: "other",
        status: "active",
        images: { original: { url: `https://media.test/original/${i}.jpg` } },
        createdAt: at,
        updatedAt: at,
      } as AssetDoc);
    }
    failedAsset(context.store, OTHER_USER);
    return { ...context, newestFirst: ids.reverse() };
  }

  test("pages newest first with a cursor until nextCursor is null", async () => {
    const { service, newestFirst } = withFiveAssets();

    const first = await service.list({ userId: USER, limit: 2 });
    const second = await service.list({ userId: USER, limit: 2, cursor: first.nextCursor! });
    const last = await service.list({ userId: USER, limit: 2, cursor: second.nextCursor! });

    expect(first.items.map((a) => a.id)).toEqual(newestFirst.slice(0, 2));
    expect(second.items.map((a) => a.id)).toEqual(newestFirst.slice(2, 4));
    expect(last.items.map((a) => a.id)).toEqual(newestFirst.slice(4));
    expect(first.nextCursor).toBeString();
    expect(last.nextCursor).toBeNull();
    expect(first).toMatchObject({ total: 5, limit: 2, page: null });
  });

  test("the next cursor is the store's cursor after the last item shown", async () => {
    const { store, service } = setup();
    for (let i = 0; i < 3; i++) await service.submitUpload({ userId: USER, category: "other", image: IMAGE, contentType: "image/jpeg" });

    const first = await service.list({ userId: USER, limit: 2 });

    expect(first.nextCursor).toBe(store.cursorAfter(store.get(first.items[1]!.id)!));
    expect(first.total).toBe(3);
  });

  test("pages by number", async () => {
    const { service, newestFirst } = withFiveAssets();

    const page2 = await service.list({ userId: USER, limit: 2, page: 2 });
    const page3 = await service.list({ userId: USER, limit: 2, page: 3 });

    expect(page2.items.map((a) => a.id)).toEqual(newestFirst.slice(2, 4));
    expect(page2).toMatchObject({ page: 2, total: 5 });
    expect(page2.nextCursor).not.toBeNull();
    expect(page3.items.map((a) => a.id)).toEqual(newestFirst.slice(4));
    expect(page3.nextCursor).toBeNull();
  });

  test("a page that holds exactly the rest has no next cursor", async () => {
    const { service } = withFiveAssets();

    const all = await service.list({ userId: USER, limit: 5 });

    expect(all.items).toHaveLength(5);
    expect(all.nextCursor).toBeNull();
  });

  test("filters by status, only within the caller's Assets", async () => {
    const { service } = withFiveAssets();

    const failed = await service.list({ userId: USER, limit: 10, status: "failed" });

    expect(failed).toMatchObject({ items: [], total: 0, nextCursor: null });
  });

  test("cursor and page together are a 400", async () => {
    const { service } = withFiveAssets();
    const first = await service.list({ userId: USER, limit: 2 });

    await expectHttpError(service.list({ userId: USER, limit: 2, cursor: first.nextCursor!, page: 2 }), 400, "either cursor or page");
  });

  test("a cursor this service did not make is a 400", async () => {
    const { service } = withFiveAssets();

    await expectHttpError(service.list({ userId: USER, limit: 2, cursor: "bm90LWEtY3Vyc29y" }), 400, "cursor is invalid");
  });
});

describe("AssetsService.get", () => {
  test("returns the caller's Asset and is a 404 for anyone else's", async () => {
    const { store, service } = setup();
    const asset = failedAsset(store);
    const assetId = asset._id.toHexString();

    expect((await service.get(assetId, USER)).status).toBe("failed");
    await expectHttpError(service.get(assetId, OTHER_USER), 404);
  });
});
