import { describe, expect, test } from "bun:test";
import { ObjectId } from "mongodb";
import { type BucketPosition, bucketPositionOf, comesAfter, listBucketOf, newestFirst, walkBuckets } from "./list-walk.ts";

interface Item {
  _id: ObjectId;
  createdAt: Date;
  listBucket: number;
  status: "active" | "failed";
}

const T0 = Date.UTC(2024, 4, 1);

/** `count` Items of one user numbered 1..count in creation order, a second apart; every third is failed. */
function userItems(count: number, bucketSize: number): Item[] {
  return Array.from({ length: count }, (_, i) => ({
    _id: new ObjectId(),
    createdAt: new Date(T0 + i * 1000),
    listBucket: listBucketOf(i + 1, bucketSize),
    status: i % 3 === 2 ? "failed" : "active",
  }));
}

/** The expected order, computed here without the module's comparator. */
function expectedOrder(items: Item[], status?: Item["status"]): string[] {
  return items
    .filter((item) => !status || item.status === status)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b._id.toHexString().localeCompare(a._id.toHexString()))
    .map((item) => item._id.toHexString());
}

/** The bucket store a repository queries, recording which buckets were read. */
function bucketReader(items: Item[], status?: Item["status"]) {
  const reads: number[] = [];
  const readBucket = async (bucket: number) => {
    reads.push(bucket);
    return items.filter((item) => item.listBucket === bucket && (!status || item.status === status));
  };
  return { reads, readBucket };
}

const topOf = (items: Item[]) => Math.max(-1, ...items.map((item) => item.listBucket));

/** One page as the service asks for it: limit + 1 items tell whether there is a next one. */
async function page(items: Item[], options: { limit: number; status?: Item["status"]; after?: BucketPosition; pageNumber?: number }) {
  const { readBucket } = bucketReader(items, options.status);
  const found = await walkBuckets({
    top: topOf(items),
    limit: options.limit + 1,
    skip: ((options.pageNumber ?? 1) - 1) * options.limit,
    ...(options.after ? { after: options.after } : {}),
    readBucket,
  });
  const shown = found.slice(0, options.limit);
  const last = shown.at(-1);
  return { ids: shown.map((item) => item._id.toHexString()), next: found.length > options.limit && last ? bucketPositionOf(last) : null };
}

async function allByCursor(items: Item[], limit: number, status?: Item["status"]): Promise<string[]> {
  const seen: string[] = [];
  let after: BucketPosition | undefined;
  for (let pages = 0; pages <= items.length + 1; pages++) {
    const { ids, next } = await page(items, { limit, ...(status ? { status } : {}), ...(after ? { after } : {}) });
    seen.push(...ids);
    if (!next) return seen;
    after = next;
  }
  throw new Error("cursor paging did not end");
}

async function allByPageNumber(items: Item[], limit: number, status?: Item["status"]): Promise<string[]> {
  const seen: string[] = [];
  for (let pageNumber = 1; ; pageNumber++) {
    const { ids, next } = await page(items, { limit, pageNumber, ...(status ? { status } : {}) });
    seen.push(...ids);
    if (!next) return seen;
  }
}

describe("list buckets", () => {
  test("the n-th Asset goes to bucket floor((n - 1) / size)", () => {
    expect([1, 32, 33, 64, 65].map((n) => listBucketOf(n))).toEqual([0, 0, 1, 1, 2]);
    expect([1, 4, 5].map((n) => listBucketOf(n, 4))).toEqual([0, 0, 1]);
  });

  test("newest first is createdAt descending, then _id descending", () => {
    const [older, newer] = [new ObjectId("65f1c0ffee0123456789aaaa"), new ObjectId("65f1c0ffee0123456789bbbb")];
    const at = new Date(T0);
    expect(newestFirst({ _id: older, createdAt: new Date(T0 + 1) }, { _id: newer, createdAt: at })).toBeLessThan(0);
    expect(newestFirst({ _id: older, createdAt: at }, { _id: newer, createdAt: at })).toBeGreaterThan(0);
    expect(comesAfter({ createdAt: at, id: newer.toHexString().toUpperCase() })({ _id: older, createdAt: at })).toBe(true);
  });
});

describe("walkBuckets", () => {
  const items = userItems(70, 4);

  test("cursor pages cross bucket boundaries: every Asset once, newest first, with and without a status", async () => {
    for (const status of [undefined, "failed", "active"] as const) {
      for (const limit of [1, 3, 4, 5, 8, 21]) {
        expect(await allByCursor(items, limit, status)).toEqual(expectedOrder(items, status));
      }
    }
  });

  test("page numbers give the same order, with and without a status", async () => {
    for (const status of [undefined, "failed"] as const) {
      for (const limit of [1, 4, 7, 20]) {
        expect(await allByPageNumber(items, limit, status)).toEqual(expectedOrder(items, status));
      }
    }
  });

  test("Assets tied in createdAt across a bucket boundary, in either _id order, still list exactly", async () => {
    // Racing creates can share a millisecond: a tie may sort a lower bucket's Asset before a higher one's.
    const tied = userItems(20, 4);
    /** Gives Assets number `group` (1-based) the first one's createdAt and the `ids` given. */
    const tie = (group: number[], ids: string[]) => {
      const createdAt = (tied[group[0]! - 1] as Item).createdAt;
      for (const [i, n] of group.entries()) Object.assign(tied[n - 1] as Item, { createdAt, _id: new ObjectId(ids[i]) });
    };
    tie([4, 5], ["ffffffffffffffffffffff04", "000000000000000000000005"]); // buckets 0 and 1
    tie([12, 13, 14], ["ffffffffffffffffffffff12", "000000000000000000000013", "000000000000000000000014"]); // buckets 2 and 3
    for (const limit of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
      expect(await allByCursor(tied, limit)).toEqual(expectedOrder(tied));
      expect(await allByPageNumber(tied, limit)).toEqual(expectedOrder(tied));
    }
  });

  test("a cursor of an Asset not numbered yet (no bucket) starts at the top and gives the same page", async () => {
    const first = await page(items, { limit: 10 });
    const { bucket: _unknown, ...withoutBucket } = first.next as BucketPosition;

    expect((await page(items, { limit: 10, after: withoutBucket })).ids).toEqual((await page(items, { limit: 10, after: first.next as BucketPosition })).ids);
  });

  test("the first page of 1,000 Assets reads only the top two buckets, in one round", async () => {
    const many = userItems(1000, 32);
    const { reads, readBucket } = bucketReader(many);

    const found = await walkBuckets({ top: topOf(many), limit: 21, skip: 0, readBucket });

    expect(found.map((item) => item._id.toHexString())).toEqual(expectedOrder(many).slice(0, 21));
    expect(reads).toEqual([31, 30]);
  });

  test("a cursor page starts at the cursor's bucket", async () => {
    const many = userItems(1000, 32);
    const cursorItem = many[500] as Item; // bucket 15, mid-bucket
    const { reads, readBucket } = bucketReader(many);

    await walkBuckets({ top: topOf(many), limit: 21, skip: 0, after: bucketPositionOf(cursorItem), readBucket });

    expect(reads).toEqual([15, 14]);
  });

  test("a user without Assets reads nothing, and a cursor's bucket above the top is read from the top", async () => {
    const none = bucketReader([]);
    expect(await walkBuckets({ top: -1, limit: 21, skip: 0, readBucket: none.readBucket })).toEqual([]);
    expect(none.reads).toEqual([]);

    const few = userItems(6, 4);
    const { reads, readBucket } = bucketReader(few);
    const after = { ...bucketPositionOf(few[5] as Item), bucket: 999 };
    const found = await walkBuckets({ top: 1, limit: 10, skip: 0, after, readBucket });
    expect(found.map((item) => item._id.toHexString())).toEqual(expectedOrder(few).slice(1));
    expect(reads).toEqual([1, 0]);
  });
});
