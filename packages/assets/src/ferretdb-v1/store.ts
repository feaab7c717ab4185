/**
 * The Asset store on FerretDB v1, the embedded development database. FerretDB
 * v1 runs only top-level equality filters in SQL and sorts and limits nothing
 * there, so a sorted, limited page would decode every Asset of the user. Its
 * workarounds all live here:
 * - every Asset carries `listBucket` (its owner's n-th Asset is in bucket
 *   floor((n - 1) / LIST_BUCKET_SIZE)), numbered by a per-user counter
 *   (`asset_counters`), and a newest-first page walks a few buckets and
 *   sorts them in the service (list-walk.ts); the total is the counter's;
 * - a status-filtered or `updatedSince` list keeps the plain query: FerretDB
 *   runs `{userId, status}` in SQL and decodes only the matches;
 * - the processingJobId index is defined without `sparse`: FerretDB v1
 *   accepts the option and drops it, so asking for it would report a
 *   difference on every start;
 * - the indexes' GIN "twins" that make the equality filters index lookups
 *   come from the embedded server itself (scripts/lib/embedded-db.ts).
 * Numbering the Assets of a database from before buckets, or from the
 * mongodb layout, is `bun run migrate` (layout.ts), never a request.
 */
import { guardMongo, type IndexSpec, type IndexSync, isDuplicateKey, syncAllIndexes } from "@pipeline/runtime/mongo";
import { type Collection, type Db, type Document, ObjectId } from "mongodb";
import { AssetCollection, afterFilter, newAssetDoc } from "../collection.ts";
import { decodeCursor, encodeCursor, InvalidCursorError, readPosition } from "../cursor.ts";
import type { AssetDoc } from "../model.ts";
import type { AssetList, AssetStore, ListQuery, NewAsset } from "../store.ts";
import { type BucketPosition, bucketPositionOf, LIST_BUCKET_SIZE, listBucketOf, walkBuckets } from "./list-walk.ts";

/** One counter per user, `_id` the user's id: how many Assets they created, and the newest one's creation time. */
export const ASSET_COUNTERS_COLLECTION = "asset_counters";
export interface AssetCounter {
  _id: ObjectId;
  n: number;
  /** How many of the `n` were deleted since (absent: none); the user has `n - deleted`. */
  deleted?: number;
  /** Never decreases, and every new Asset takes it as createdAt, so a later bucket never holds an older Asset. */
  lastCreatedAt: Date;
}

/** The Asset as this adapter stores it. */
export interface BucketedAssetDoc extends AssetDoc {
  /** Absent on Assets not numbered yet (`bun run migrate` numbers them). */
  listBucket?: number;
}

/** The cursor format of this adapter: creation time, id and the item's bucket. */
const CURSOR_FORMAT = "f1";
const BUCKET = /^\d{1,9}$/;

/** The Asset indexes on FerretDB v1, options included (see above for `sparse`). */
export const FERRETDB_ASSET_INDEXES: IndexSpec[] = [
  { key: { userId: 1 }, name: "userId_1" },
  { key: { status: 1 }, name: "status_1" },
  { key: { processingJobId: 1 }, name: "processingJobId_1" },
  // A newest-first page reads one bucket per query; the catch-up reads by update time.
  { key: { userId: 1, listBucket: -1 }, name: "userId_1_listBucket_-1" },
  { key: { userId: 1, updatedAt: -1 }, name: "userId_1_updatedAt_-1" },
];

export class FerretDbAssetStore extends AssetCollection implements AssetStore {
  readonly dialect = "ferretdb-v1" as const;
  private readonly counters: Collection<AssetCounter>;
  private readonly bucketed: Collection<BucketedAssetDoc>;

  /** `bucketSize` is LIST_BUCKET_SIZE except in tests; every process sharing a database must use the same. */
  constructor(
    db: Db,
    private readonly bucketSize = LIST_BUCKET_SIZE,
  ) {
    super(db);
    this.counters = db.collection<AssetCounter>(ASSET_COUNTERS_COLLECTION);
    this.bucketed = this.assets as Collection<BucketedAssetDoc>;
  }

  syncIndexes(): Promise<IndexSync> {
    return syncAllIndexes([[this.assets, FERRETDB_ASSET_INDEXES]]);
  }

  /** Assets without counters (a database from before buckets, or from the mongodb layout) list correctly but slowly until migrated. */
  async pendingMigration(): Promise<string | null> {
    const [assets, counters] = await Promise.all([this.assets.estimatedDocumentCount(), this.counters.estimatedDocumentCount()]);
    return assets > 0 && counters === 0 ? "the Assets have no list buckets yet: run `bun run migrate` (until then their lists are correct, only slower)" : null;
  }

  /** The owner's counter numbers the Asset first, which gives its list bucket and its creation time. */
  async createProcessing(input: NewAsset): Promise<void> {
    const userId = new ObjectId(input.userId);
    const counter = await guardMongo(() => this.countNewAsset(userId));
    // No counter: the user has Assets not numbered yet; this one waits for `bun run migrate` with them.
    const doc = counter ? newAssetDoc(input, counter.lastCreatedAt, { listBucket: listBucketOf(counter.n, this.bucketSize) }) : newAssetDoc(input, new Date());
    await guardMongo(() => this.bucketed.insertOne(doc));
  }

  /**
   * Without `updatedSince` or a status it walks list buckets (list-walk.ts) and the total is the
   * counter's `n - deleted`; with either, or for a user without a counter, a plain query and a count.
   */
  async list(query: ListQuery): Promise<AssetList> {
    const after = query.after !== undefined ? readCursor(query.after) : undefined;
    return guardMongo(async () => {
      const userId = new ObjectId(query.userId);
      const counter = query.updatedSince || query.status ? null : await this.counters.findOne({ _id: userId });
      if (!counter) return this.listByQuery(query, after ? afterFilter(after) : null);
      const items = await walkBuckets<BucketedAssetDoc>({
        top: listBucketOf(counter.n, this.bucketSize),
        limit: query.limit,
        skip: query.skip ?? 0,
        ...(after ? { after } : {}),
        readBucket: (listBucket) => this.bucketed.find({ userId, listBucket }).toArray(),
      });
      return { items, total: Math.max(0, counter.n - (counter.deleted ?? 0)) };
    });
  }

  cursorAfter(asset: BucketedAssetDoc): string {
    const { bucket, ...position } = bucketPositionOf(asset);
    return encodeCursor(CURSOR_FORMAT, position, bucket === undefined ? [] : [String(bucket)]);
  }

  /** The plan of the counter read and of one bucket read (the first page's), or of the plain query. */
  explainList(query: ListQuery): Promise<Document[]> {
    return guardMongo(async () => {
      const userId = new ObjectId(query.userId);
      const after = query.after !== undefined ? readCursor(query.after) : undefined;
      const counter = query.updatedSince || query.status ? null : await this.counters.findOne({ _id: userId });
      if (!counter) return [await this.pageQuery(query, after ? afterFilter(after) : null).explain("queryPlanner")];
      const bucket = Math.min(after?.bucket ?? Number.POSITIVE_INFINITY, listBucketOf(counter.n, this.bucketSize));
      return Promise.all([
        this.counters.find({ _id: userId }).explain("queryPlanner"),
        this.bucketed.find({ userId, listBucket: bucket }).explain("queryPlanner"),
      ]);
    });
  }

  async deleteOwned(id: string, userId: string): Promise<AssetDoc | null> {
    const deleted = (await this.removeOwned(id, userId)) as BucketedAssetDoc | null;
    // The counter keeps numbering buckets by `n`; the total is `n - deleted`.
    if (deleted?.listBucket != null) await guardMongo(() => this.counters.updateOne({ _id: deleted.userId }, { $inc: { deleted: 1 } }));
    return deleted;
  }

  /**
   * Counts one more Asset of the user; null when the user has Assets but no counter (not numbered yet).
   * `$max` keeps `lastCreatedAt` from going backwards (replicas' clocks, racing requests), so the new
   * Asset's createdAt is never older than a lower-numbered one's.
   */
  private async countNewAsset(userId: ObjectId): Promise<AssetCounter | null> {
    const update = { $inc: { n: 1 }, $max: { lastCreatedAt: new Date() } };
    const counted = await this.counters.findOneAndUpdate({ _id: userId }, update, { returnDocument: "after" });
    if (counted) return counted;
    // The user's first upload, or one of a user whose Assets are not numbered yet (an unnumbered Asset; racing
    // first uploads write numbered ones). Only the userId equality runs in SQL, and only on a user's first upload.
    if (await this.bucketed.findOne({ userId, listBucket: { $exists: false } }, { projection: { _id: 1 } })) return null;
    return this.upsertCount(userId, update);
  }

  private async upsertCount(userId: ObjectId, update: Document, retries = 1): Promise<AssetCounter> {
    try {
      const counted = await this.counters.findOneAndUpdate({ _id: userId }, update, { upsert: true, returnDocument: "after" });
      if (!counted) throw new Error("upsert returned no counter");
      return counted;
    } catch (error) {
      // Two first uploads raced to create the counter: the loser counts on the winner's.
      if (retries > 0 && isDuplicateKey(error)) return this.upsertCount(userId, update, retries - 1);
      throw error;
    }
  }
}

/**
 * This adapter's cursor; a cursor from before cursor formats (`<time>|<id>[|<bucket>]`, this layout's)
 * is read too. Another adapter's cursor is an InvalidCursorError.
 */
function readCursor(cursor: string): BucketPosition {
  const legacy = Buffer.from(cursor, "base64url").toString().split("|");
  const decoded = decodeCursor(CURSOR_FORMAT, cursor) ?? readPosition(legacy[0], legacy[1], legacy.slice(2));
  const [bucket, ...rest] = decoded?.extra ?? [];
  if (!decoded || rest.length > 0 || (bucket !== undefined && !BUCKET.test(bucket))) throw new InvalidCursorError();
  return { ...decoded.position, ...(bucket !== undefined ? { bucket: Number(bucket) } : {}) };
}
