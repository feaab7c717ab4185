/**
 * A user's newest-first list, read bucket by bucket. The user's n-th Asset
 * sits in bucket floor((n - 1) / LIST_BUCKET_SIZE), and its createdAt is the
 * counter's never-decreasing `lastCreatedAt`, so a higher bucket never holds
 * an older Asset (ties in createdAt are possible). FerretDB runs
 * `{userId, listBucket}` in SQL and decodes only that bucket, where a sorted,
 * limited query would decode every Asset of the user; so a page reads a few
 * buckets and sorts them here.
 */
import type { ObjectId } from "mongodb";
import type { ListPosition } from "../cursor.ts";

export const LIST_BUCKET_SIZE = 32;

/** The bucket of a user's `assetNumber`-th Asset (1-based). */
export function listBucketOf(assetNumber: number, bucketSize = LIST_BUCKET_SIZE): number {
  return Math.floor((assetNumber - 1) / bucketSize);
}

/** What ordering needs of an Asset. */
export interface Listed {
  _id: ObjectId;
  createdAt: Date;
}

/** A position in a user's newest-first list: an item's creation time, id and bucket. */
export interface BucketPosition extends ListPosition {
  /** Unknown for Assets not numbered yet (`bun run migrate`): the walk then starts at the top bucket. */
  bucket?: number;
}

export function bucketPositionOf(asset: Listed & { listBucket?: number | null }): BucketPosition {
  return { createdAt: asset.createdAt, id: asset._id.toHexString(), ...(asset.listBucket != null ? { bucket: asset.listBucket } : {}) };
}

/** Newest first: createdAt descending, then _id descending. */
export function newestFirst(a: Listed, b: Listed): number {
  const byTime = b.createdAt.getTime() - a.createdAt.getTime();
  if (byTime !== 0) return byTime;
  const [idA, idB] = [a._id.toHexString(), b._id.toHexString()];
  return idA === idB ? 0 : idA < idB ? 1 : -1;
}

/** True for items that come after `position` in newest-first order. */
export function comesAfter(position: ListPosition): (item: Listed) => boolean {
  const time = position.createdAt.getTime();
  const id = position.id.toLowerCase();
  return (item) => item.createdAt.getTime() < time || (item.createdAt.getTime() === time && item._id.toHexString() < id);
}

export interface BucketWalk<T extends Listed> {
  /** The user's highest bucket (-1 when they have no Assets). */
  top: number;
  limit: number;
  /** Items to pass over after the position (page numbers). */
  skip: number;
  after?: BucketPosition;
  /** One bucket's Assets that pass the filter, in any order. */
  readBucket: (bucket: number) => Promise<T[]>;
}

/** The buckets read so far, `low` to `high`; empty while low > high. */
interface ReadRange {
  low: number;
  high: number;
}

/**
 * Up to `limit` items after `after` and `skip` more, newest first. Reads two
 * buckets per round trip, downward from the cursor's bucket (or the top),
 * until the page is certain.
 */
export async function walkBuckets<T extends Listed>(walk: BucketWalk<T>): Promise<T[]> {
  const start = Math.min(walk.after?.bucket ?? walk.top, walk.top);
  const range: ReadRange = { low: start + 1, high: start };
  const read: T[] = [];
  for (let round = nextRound(walk, range, read); round.length > 0; round = nextRound(walk, range, read)) {
    for (const items of await Promise.all(round.map((bucket) => walk.readBucket(bucket)))) read.push(...items);
    range.low = Math.min(range.low, ...round);
    range.high = Math.max(range.high, ...round);
  }
  return positioned(walk, read).slice(walk.skip, walk.skip + walk.limit);
}

/** The next buckets to read (at most two), none once the page is certain. */
function nextRound<T extends Listed>(walk: BucketWalk<T>, range: ReadRange, read: T[]): number[] {
  const up = needsBucketAbove(walk, range, read) ? [range.high + 1] : [];
  const down = needsBucketBelow(walk, range, read) ? [range.low - 1, range.low - 2].filter((bucket) => bucket >= 0) : [];
  return [...up, ...down].slice(0, 2);
}

/**
 * A bucket above the cursor's holds nothing older than the cursor unless it is
 * tied with the cursor's createdAt; one item read that is strictly newer than
 * the cursor rules that out for every bucket above.
 */
function needsBucketAbove<T extends Listed>(walk: BucketWalk<T>, range: ReadRange, read: T[]): boolean {
  const after = walk.after;
  if (!after || range.low > range.high || range.high >= walk.top) return false;
  return !read.some((item) => item.createdAt > after.createdAt);
}

/**
 * Lower buckets hold nothing newer than anything read, so the page is certain
 * once it is full and the oldest item read is strictly older than its last
 * item (a tie in createdAt could still sort either way).
 */
function needsBucketBelow<T extends Listed>(walk: BucketWalk<T>, range: ReadRange, read: T[]): boolean {
  if (range.low <= 0 || walk.skip + walk.limit <= 0) return false;
  const last = positioned(walk, read)[walk.skip + walk.limit - 1];
  if (!last) return true;
  const oldestRead = read.reduce((oldest, item) => Math.min(oldest, item.createdAt.getTime()), Number.POSITIVE_INFINITY);
  return oldestRead >= last.createdAt.getTime();
}

/** The items read that come after the cursor, newest first. */
function positioned<T extends Listed>(walk: BucketWalk<T>, read: T[]): T[] {
  const after = walk.after;
  return (after ? read.filter(comesAfter(after)) : [...read]).sort(newestFirst);
}
