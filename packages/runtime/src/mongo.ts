/**
 * MongoDB connection (mongoose), for one server or a replica set / hosted
 * cluster alike. Commands are not buffered, so a request fails fast (503)
 * while MongoDB is down.
 *
 * Beyond one node (docs/configuration.md, "MONGO_URL beyond one server"):
 * - every write is acknowledged by a majority of the replica set (`w: "majority"`), so a
 *   status change the pipeline has acted on (an event sent, a job queued) survives a failover;
 * - writes are retried once by the driver across a failover (`retryWrites`), unless MONGO_URL
 *   says `retryWrites=false` (servers without retryable writes, such as Amazon DocumentDB);
 * - every read goes to the primary (`readPreference: "primary"`): an owner reads back their
 *   own writes at once (a secondary may lag), and the worker's conditional updates see the newest state;
 * - indexes are never built implicitly (`autoIndex: false`): the services create them once at
 *   start, in the background (`createIndexesInBackground`).
 */
import mongoose, { type Connection, type ConnectOptions, type mongo } from "mongoose";
import { ConfigError } from "./config.ts";
import { DependencyError } from "./http.ts";
import type { Logger } from "./logger.ts";

/** How long a write waits for a majority of the replica set before it fails (and the request gets a 503). */
export const WRITE_CONCERN_TIMEOUT_MS = 10_000;

/** MONGO_URL's query options, keys lower-cased (the driver reads them case-insensitively). */
function urlOptions(url: string): Map<string, string> {
  const query = url.includes("?") ? url.slice(url.indexOf("?") + 1) : "";
  return new Map([...new URLSearchParams(query)].map(([key, value]) => [key.toLowerCase(), value]));
}

/**
 * The driver options for MONGO_URL. Options the URL sets itself are left to it, except the two
 * the pipeline's correctness rests on: a URL asking for another write concern or read preference
 * is refused at start, naming the variable.
 */
export function mongoConnectionOptions(url: string): ConnectOptions {
  const fromUrl = urlOptions(url);
  const w = fromUrl.get("w");
  if (w !== undefined && w !== "majority") {
    throw new ConfigError(`invalid configuration: MONGO_URL: w=${w} is not supported: the services write with w=majority (remove the option)`);
  }
  const readPreference = fromUrl.get("readpreference");
  if (readPreference !== undefined && readPreference !== "primary") {
    throw new ConfigError(
      `invalid configuration: MONGO_URL: readPreference=${readPreference} is not supported: the services read from the primary (remove the option)`,
    );
  }
  return {
    serverSelectionTimeoutMS: 5000,
    bufferCommands: false,
    autoIndex: false,
    readPreference: "primary",
    writeConcern: { w: "majority", ...(fromUrl.has("wtimeoutms") ? {} : { wtimeoutMS: WRITE_CONCERN_TIMEOUT_MS }) },
    ...(fromUrl.has("retrywrites") ? {} : { retryWrites: true }),
  };
}

export async function connectMongo(url: string, logger: Logger): Promise<Connection> {
  const connection = mongoose.createConnection(url, mongoConnectionOptions(url));
  connection.on("disconnected", () => logger.warn("mongodb disconnected"));
  connection.on("reconnected", () => logger.info("mongodb reconnected"));
  await connection.asPromise();
  return connection;
}

export async function mongoIsUp(connection: Connection): Promise<boolean> {
  if (connection.readyState !== 1 || !connection.db) return false;
  await connection.db.admin().command({ ping: 1 });
  return true;
}

/** Runs a database operation; "MongoDB is unreachable" becomes a 503, anything else propagates. */
export async function guardMongo<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isMongoUnavailable(error)) throw new DependencyError("database", error);
    throw error;
  }
}

/** MongoDB's duplicate-key error (a unique index refused the write). */
export const isDuplicateKey = (error: unknown) => (error as { code?: unknown } | null)?.code === 11000;

/** True for errors that mean "MongoDB is unreachable", as opposed to a bad query. */
export function isMongoUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    // MongoWriteConcernError: no majority acknowledged the write in time (a replica set short of members).
    /MongoNetwork|MongoServerSelection|MongoNotConnected|PoolClearedError|MongoTopologyClosed|MongoWriteConcernError/.test(error.name) ||
    /Client must be connected|connection .* closed|ECONNREFUSED|buffering timed out/i.test(error.message)
  );
}

export interface IndexBuilds {
  /** What each build is called in the logs, and the build itself (idempotent: a no-op for indexes that exist). */
  [name: string]: () => Promise<unknown>;
}

/**
 * Creates indexes at start without holding the service up: it serves at once (queries are correct without
 * their indexes, only slower), and the builds run beside it. On MongoDB ≥ 4.2 a build takes an exclusive
 * lock only briefly at its start and end, so the other replicas keep reading and writing the collection
 * meanwhile; on a replica set `createIndexes` returns when the voting members have built the index, which
 * on a large collection can take minutes, longer than a liveness probe would wait for a server to listen.
 * A build that fails because MongoDB is unreachable is tried again after `retryMs`, up to `attempts` times;
 * any other failure (conflicting options of an existing index, say) is logged as an error. Never rejects.
 */
/** An index to create: its key pattern and options (as `createIndexes` takes them). */
export type IndexSpec = { key: Record<string, 1 | -1>; [option: string]: unknown };

/**
 * Creates the indexes of `specs` that the collection lacks (matched by key pattern), in one
 * `createIndexes`; the names of those created. Asking only for missing ones also keeps clear of
 * FerretDB v1.24, which drops the connection when `createIndexes` names an index that exists.
 */
export async function createMissingIndexes(collection: Pick<mongo.Collection, "indexes" | "createIndexes">, specs: IndexSpec[]): Promise<string[]> {
  const existing = new Set((await collection.indexes().catch(() => [])).map((index) => JSON.stringify(index.key)));
  const missing = specs.filter((spec) => !existing.has(JSON.stringify(spec.key)));
  return missing.length ? collection.createIndexes(missing as Parameters<mongo.Collection["createIndexes"]>[0]) : [];
}

export async function createIndexesInBackground(logger: Logger, builds: IndexBuilds, options: { attempts?: number; retryMs?: number } = {}): Promise<void> {
  const attempts = options.attempts ?? 10;
  const retryMs = options.retryMs ?? 5000;
  await Promise.all(
    Object.entries(builds).map(async ([name, build]) => {
      const started = performance.now();
      for (let attempt = 1; ; attempt++) {
        try {
          const created = await build();
          logger.info({ indexes: name, created, ms: Math.round(performance.now() - started) }, "indexes ready");
          return;
        } catch (error) {
          if (isMongoUnavailable(error) && attempt < attempts) {
            logger.warn({ indexes: name, attempt, err: error instanceof Error ? error.message : String(error) }, "index build waits for mongodb");
            await Bun.sleep(retryMs);
            continue;
          }
          logger.error({ indexes: name, err: error }, "index build failed: queries still work, only slower");
          return;
        }
      }
    }),
  );
}
