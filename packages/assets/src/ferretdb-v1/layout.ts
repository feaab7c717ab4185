/**
 * The FerretDB v1 adapter's layout as a data migration (`bun run migrate`),
 * both ways:
 * - into it: every Asset numbered into its owner's list buckets, oldest first,
 *   and a counter per user (a database from before buckets, or from the
 *   mongodb layout);
 * - out of it: `listBucket` removed and the counters dropped (to the mongodb layout).
 * Both go user by user and are idempotent and resumable: a user counts as done
 * once their counter is written (into) or removed (out of), so an interrupted
 * run picks up where it stopped, and a second run finds nothing to do.
 * Uploads during the migration may need another run (it says so at the end).
 */
import type { Db, ObjectId } from "mongodb";
import { ASSETS_COLLECTION } from "../model.ts";
import { LIST_BUCKET_SIZE, listBucketOf, newestFirst } from "./list-walk.ts";
import { ASSET_COUNTERS_COLLECTION, type AssetCounter, type BucketedAssetDoc } from "./store.ts";

/** Bucket updates per command: FerretDB v1 holds a pooled connection per statement of one command, and 50 exhausted its pool. */
const UPDATE_BATCH = 20;

export type Progress = (line: string) => void;

/** Prints about twenty progress lines for `total` steps, and the last one. */
function reporter(progress: Progress, what: string, total: number) {
  const every = Math.max(1, Math.ceil(total / 20));
  return (done: number, detail: string) => {
    if (done === total || done % every === 0) progress(`${what}: ${done}/${total} users (${detail})`);
  };
}

const idsOf = (values: unknown[]) => new Map(values.map((value) => [String(value), value as ObjectId]));

/** Numbers every user's Assets into buckets and writes their counters; how many users and Assets it changed. */
export async function intoBucketLayout(db: Db, progress: Progress, bucketSize = LIST_BUCKET_SIZE): Promise<{ users: number; numbered: number }> {
  const assets = db.collection<BucketedAssetDoc>(ASSETS_COLLECTION);
  const counters = db.collection<AssetCounter>(ASSET_COUNTERS_COLLECTION);
  const [owners, unnumbered, counted] = await Promise.all([
    assets.distinct("userId"),
    assets.distinct("userId", { listBucket: { $exists: false } }),
    counters.distinct("_id"),
  ]);
  const countedIds = new Set(counted.map(String));
  const todo = [...idsOf([...unnumbered, ...owners.filter((id) => !countedIds.has(String(id)))]).values()];
  if (todo.length === 0) {
    progress("assets: every Asset is in a list bucket and every owner has a counter: nothing to do");
    return { users: 0, numbered: 0 };
  }
  const report = reporter(progress, "assets: numbering into list buckets", todo.length);
  let numbered = 0;
  for (const [done, userId] of todo.entries()) {
    const stored = await assets.find({ userId }, { projection: { createdAt: 1, listBucket: 1 } }).toArray();
    const oldestFirst = stored.sort(newestFirst).reverse();
    const updates = oldestFirst.flatMap((asset, index) => {
      const listBucket = listBucketOf(index + 1, bucketSize);
      return asset.listBucket === listBucket ? [] : [{ updateOne: { filter: { _id: asset._id }, update: { $set: { listBucket } } } }];
    });
    for (let from = 0; from < updates.length; from += UPDATE_BATCH) await assets.bulkWrite(updates.slice(from, from + UPDATE_BATCH), { ordered: false });
    numbered += updates.length;
    const newest = oldestFirst.at(-1);
    // Written last: the user is done once it exists.
    if (newest) {
      await counters.updateOne({ _id: userId }, { $set: { n: oldestFirst.length, deleted: 0 }, $max: { lastCreatedAt: newest.createdAt } }, { upsert: true });
    }
    report(done + 1, `${numbered} Assets numbered`);
  }
  return { users: todo.length, numbered };
}

/** Removes every `listBucket` and every counter; how many users it changed. */
export async function outOfBucketLayout(db: Db, progress: Progress): Promise<{ users: number }> {
  const assets = db.collection<BucketedAssetDoc>(ASSETS_COLLECTION);
  const counters = db.collection<AssetCounter>(ASSET_COUNTERS_COLLECTION);
  const [bucketed, counted] = await Promise.all([assets.distinct("userId", { listBucket: { $exists: true } }), counters.distinct("_id")]);
  const todo = [...idsOf([...bucketed, ...counted]).values()];
  if (todo.length === 0) {
    progress("assets: no list buckets and no counters: nothing to do");
  } else {
    const report = reporter(progress, "assets: removing list buckets and counters", todo.length);
    let unset = 0;
    for (const [done, userId] of todo.entries()) {
      // One user's Assets by the equality FerretDB v1 runs in SQL; the counter goes last: the user is done once it is gone.
      unset += (await assets.updateMany({ userId, listBucket: { $exists: true } }, { $unset: { listBucket: "" } })).modifiedCount;
      await counters.deleteOne({ _id: userId });
      report(done + 1, `${unset} Assets changed`);
    }
  }
  if ((await db.listCollections({ name: ASSET_COUNTERS_COLLECTION }).toArray()).length) {
    await counters.drop();
    progress(`assets: dropped the collection ${ASSET_COUNTERS_COLLECTION}`);
  }
  return { users: todo.length };
}

/** For bulk loads (the benchmark's seed), in this layout: the fields of a user's n-th Asset, and the counters once all are in. */
export const bucketBulkLayout = {
  fieldsOf: (assetNumber: number) => ({ listBucket: listBucketOf(assetNumber) }),
  async finish(db: Db, owners: { userId: ObjectId; count: number; newest: Date }[]): Promise<void> {
    const counters = owners.map(({ userId, count, newest }): AssetCounter => ({ _id: userId, n: count, lastCreatedAt: newest }));
    if (counters.length) await db.collection<AssetCounter>(ASSET_COUNTERS_COLLECTION).insertMany(counters);
  },
};
