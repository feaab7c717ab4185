/**
 * A database already holding many Assets: documents in the shape ingest and
 * the ai-worker leave them (`active`, both image URLs, metadata, job id,
 * timestamps, list bucket), bulk-inserted with the mongodb driver, each
 * user's Asset counter, and the Asset model's indexes (taken from its
 * mongoose schema, so they follow the model).
 */
import { ASSET_COUNTERS_COLLECTION, type AssetCounter, assetSchema, listBucketOf } from "@pipeline/assets";
import mongoose from "mongoose";

type MongoClient = InstanceType<typeof mongoose.mongo.MongoClient>;
type ObjectId = InstanceType<typeof mongoose.mongo.ObjectId>;

const COLLECTION: string = assetSchema.get("collection") ?? "assets";
const CATEGORIES = ["sneaker", "lego", "camera", "other"] as const;

/** Creates the Asset model's indexes on `dbName` (a no-op for those that exist); returns their names. */
export async function ensureAssetIndexes(client: MongoClient, dbName: string): Promise<string[]> {
  const specs = assetSchema.indexes().map(([key, options]) => ({ ...(options as object), key: key as Record<string, 1 | -1> }));
  return client.db(dbName).collection(COLLECTION).createIndexes(specs);
}

export interface SeedResult {
  documents: number;
  users: number;
  insertS: number;
  indexS: number;
  indexes: string[];
}

const hex32 = () => crypto.randomUUID().replaceAll("-", "");

/** `listBucket` is the bucket of this Asset's number among its owner's, counted from 1 in creation order. */
function seededAsset(userId: ObjectId, createdAt: Date, index: number, listBucket: number) {
  const _id = new mongoose.mongo.ObjectId();
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
    listBucket,
    createdAt,
    updatedAt,
  };
}

/**
 * Inserts `perUser` Assets for each of `userIds` (created over the past 90
 * days, users interleaved), `batchSize` per insertMany with `parallel`
 * batches in flight, then creates the model's indexes.
 */
export async function seedAssets(options: {
  mongoUrl: string;
  userIds: string[];
  perUser: number;
  batchSize?: number;
  parallel?: number;
  onProgress?: (done: number, total: number) => void;
}): Promise<SeedResult> {
  const batchSize = options.batchSize ?? 1000;
  const parallel = options.parallel ?? 2;
  const users = options.userIds.map((id) => new mongoose.mongo.ObjectId(id));
  const total = users.length * options.perUser;
  const spanMs = 90 * 24 * 3600 * 1000;
  const start = Date.now() - spanMs - 3600_000;
  // Document i belongs to user i % users and is that user's (i / users + 1)-th, created in order of i.
  const createdAtOf = (i: number) => new Date(start + Math.floor((i / total) * spanMs));
  const bucketOf = (i: number) => listBucketOf(Math.floor(i / users.length) + 1);
  const client = await new mongoose.mongo.MongoClient(options.mongoUrl).connect();
  try {
    const collection = client.db().collection(COLLECTION);
    let next = 0;
    let done = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < total) {
          const from = next;
          next = Math.min(total, next + batchSize);
          const docs = [];
          for (let i = from; i < next; i++) docs.push(seededAsset(users[i % users.length]!, createdAtOf(i), i, bucketOf(i)));
          await collection.insertMany(docs, { ordered: false });
          done += docs.length;
          options.onProgress?.(done, total);
        }
      }),
    );
    // Each user's counter: perUser Assets, the newest being document (perUser - 1) * users + u.
    const counters: AssetCounter[] = users.map((_id, u) => ({ _id, n: options.perUser, lastCreatedAt: createdAtOf((options.perUser - 1) * users.length + u) }));
    if (counters.length > 0 && options.perUser > 0) await client.db().collection<AssetCounter>(ASSET_COUNTERS_COLLECTION).insertMany(counters);
    const insertS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const indexes = await ensureAssetIndexes(client, client.db().databaseName);
    const seconds = (from: number) => Math.round(performance.now() - from) / 1000;
    return { documents: total, users: users.length, insertS: Math.round(insertS * 1000) / 1000, indexS: seconds(t1), indexes };
  } finally {
    await client.close();
  }
}
