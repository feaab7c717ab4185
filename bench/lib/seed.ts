/**
 * A database already holding many Assets: documents in the shape ingest and
 * the ai-worker leave them (`active`, both image URLs, metadata, job id,
 * timestamps), bulk-inserted with the mongodb driver in the layout of the
 * dialect measured (whatever that adapter keeps beside them, from
 * @pipeline/assets), then that adapter's indexes.
 */
import { assetIndexesOf, bulkLayout } from "@pipeline/assets";
import { ASSETS_COLLECTION } from "@pipeline/assets/model";
import type { MongoDialect } from "@pipeline/runtime/mongo";
import { type Db, MongoClient, ObjectId } from "mongodb";

const CATEGORIES = ["sneaker", "lego", "camera", "other"] as const;

/** Creates the dialect's Asset indexes on `db` (only those missing); returns their names. */
export async function ensureAssetIndexes(db: Db, dialect: MongoDialect): Promise<string[]> {
  const collection = db.collection(ASSETS_COLLECTION);
  const existing = new Set((await collection.indexes().catch(() => [])).map((index) => index.name));
  const missing = assetIndexesOf(dialect).filter((spec) => !existing.has(spec.name));
  return missing.length ? collection.createIndexes(missing) : [];
}

export interface SeedResult {
  documents: number;
  users: number;
  insertS: number;
  indexS: number;
  indexes: string[];
}

const hex32 = () => crypto.randomUUID().replaceAll("-", "");

function seededAsset(userId: ObjectId, createdAt: Date, index: number) {
  const _id = new ObjectId();
  const updatedAt = new Date(createdAt.getTime() + 1500);
  return {
    _id,
    userId,
    category: CATEGORIES[index % CATEGORIES.length]!,
    status: "active",
    images: {
      original: { url: `http://127.0.0.1:3000/media/${hex32()}-original.webp` },
      processed: { url: `http://127.0.0.1:3000/media/${hex32()}-processed.png` },
    },
    aiMetadata: {
      brand: { value: "Nike", confidence: 0.93 },
      model: { value: `Air Jordan ${1 + (index % 38)}`, confidence: 0.81 },
      colorway: { value: "Red/White", confidence: 0.74 },
      processedAt: updatedAt,
    },
    processingJobId: _id.toHexString(),
    createdAt,
    updatedAt,
  };
}

/**
 * Inserts `perUser` Assets for each of `userIds` (created over the past 90
 * days, users interleaved), `batchSize` per insertMany with `parallel`
 * batches in flight, in `dialect`'s layout, then creates its indexes.
 */
export async function seedAssets(options: {
  mongoUrl: string;
  userIds: string[];
  perUser: number;
  dialect: MongoDialect;
  batchSize?: number;
  parallel?: number;
  onProgress?: (done: number, total: number) => void;
}): Promise<SeedResult> {
  const batchSize = options.batchSize ?? 1000;
  const parallel = options.parallel ?? 2;
  const dialect = options.dialect;
  const layout = bulkLayout(dialect);
  const users = options.userIds.map((id) => new ObjectId(id));
  const total = users.length * options.perUser;
  const spanMs = 90 * 24 * 3600 * 1000;
  const start = Date.now() - spanMs - 3600_000;
  // Document i belongs to user i % users and is that user's (i / users + 1)-th, created in order of i.
  const createdAtOf = (i: number) => new Date(start + Math.floor((i / total) * spanMs));
  const client = await new MongoClient(options.mongoUrl).connect();
  try {
    const db = client.db();
    const collection = db.collection(ASSETS_COLLECTION);
    let next = 0;
    let done = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < total) {
          const from = next;
          next = Math.min(total, next + batchSize);
          const docs = [];
          for (let i = from; i < next; i++) {
            docs.push({ ...seededAsset(users[i % users.length]!, createdAtOf(i), i), ...layout.fieldsOf(Math.floor(i / users.length) + 1) });
          }
          await collection.insertMany(docs, { ordered: false });
          done += docs.length;
          options.onProgress?.(done, total);
        }
      }),
    );
    // Each user's newest is document (perUser - 1) * users + u.
    if (options.perUser > 0) {
      await layout.finish(
        db,
        users.map((userId, u) => ({ userId, count: options.perUser, newest: createdAtOf((options.perUser - 1) * users.length + u) })),
      );
    }
    const insertS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const indexes = await ensureAssetIndexes(db, dialect);
    const seconds = (from: number) => Math.round(performance.now() - from) / 1000;
    return { documents: total, users: users.length, insertS: Math.round(insertS * 1000) / 1000, indexS: seconds(t1), indexes };
  } finally {
    await client.close();
  }
}
