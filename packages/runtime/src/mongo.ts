/**
 * MongoDB connection (the `mongodb` driver), for one server or a replica set
 * / hosted cluster alike, and the dialect the stores are chosen by.
 *
 * Beyond one node (docs/configuration.md, "MONGO_URL beyond one server"):
 * - every write is acknowledged by a majority of the replica set (`w: "majority"`), so a
 *   status change the pipeline has acted on (an event sent, a job queued) survives a failover;
 * - writes are retried once by the driver across a failover (`retryWrites`), unless MONGO_URL
 *   says `retryWrites=false` (servers without retryable writes, such as Amazon DocumentDB);
 * - every read goes to the primary (`readPreference: "primary"`): an owner reads back their
 *   own writes at once (a secondary may lag), and the worker's conditional updates see the newest state;
 * - indexes are created once at start by the stores' adapters, in the background (`createIndexesInBackground`).
 *
 * The dialect (MONGO_DIALECT): `mongodb` for MongoDB and servers that behave like it, `ferretdb-v1`
 * for FerretDB v1, which pushes no sort or limit into SQL and has no TTL indexes, so its stores
 * work around that in their own adapters. `auto` asks the server once, at connect.
 */
import { type Collection, type Db, type IndexDescription, MongoClient, type MongoClientOptions } from "mongodb";
import type { Registry } from "prom-client";
import { ConfigError, MONGO_DIALECTS } from "./config.ts";
import { DependencyError } from "./http.ts";
import type { Logger } from "./logger.ts";
import { counter } from "./metrics.ts";

export { MONGO_DIALECTS };

export type MongoDialect = (typeof MONGO_DIALECTS)[number];
export type MongoDialectSetting = MongoDialect | "auto";

/** A connected database: the client (to close), the database MONGO_URL names, and the dialect its stores use. */
export interface MongoConnection {
  client: MongoClient;
  db: Db;
  dialect: MongoDialect;
}

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
export function mongoConnectionOptions(url: string): MongoClientOptions {
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
    // A request fails within seconds (503) while MongoDB is down, instead of waiting for it.
    serverSelectionTimeoutMS: 5000,
    readPreference: "primary",
    writeConcern: { w: "majority", ...(fromUrl.has("wtimeoutms") ? {} : { wtimeoutMS: WRITE_CONCERN_TIMEOUT_MS }) },
    ...(fromUrl.has("retrywrites") ? {} : { retryWrites: true }),
    // Command events feed mongodb_commands_total (countMongoCommands).
    monitorCommands: true,
  };
}

/**
 * The dialect for `setting`: itself unless `auto`, then FerretDB v1 when `buildInfo` names a
 * FerretDB 1.x (`ferretdbVersion`), else `mongodb` (MongoDB, and FerretDB 2, which runs sorts and limits in its engine).
 */
export function resolveDialect(setting: MongoDialectSetting, buildInfo: { ferretdbVersion?: unknown }): MongoDialect {
  if (setting !== "auto") return setting;
  return typeof buildInfo.ferretdbVersion === "string" && /^v?1\./.test(buildInfo.ferretdbVersion) ? "ferretdb-v1" : "mongodb";
}

/** Logs the server going away and coming back (warn, info), for any client: the driver's own or mongoose's. */
export function logServerChanges(client: MongoClient, logger: Logger): void {
  client.on("serverDescriptionChanged", (event) => {
    const [was, now] = [event.previousDescription.type, event.newDescription.type];
    if (now === "Unknown" && was !== "Unknown") logger.warn({ server: event.address }, "mongodb disconnected");
    else if (was === "Unknown" && now !== "Unknown") logger.info({ server: event.address }, "mongodb reconnected");
  });
}

/** Chooses the dialect of a connected database once and logs it (`dialect`: `mongodb` or `ferretdb-v1`). */
export async function chooseDialect(db: Db, logger: Logger, setting: MongoDialectSetting): Promise<MongoDialect> {
  const buildInfo = await db.admin().command({ buildInfo: 1 });
  const dialect = resolveDialect(setting, buildInfo);
  logger.info(
    { dialect, setting, server: buildInfo.ferretdbVersion ? `FerretDB ${buildInfo.ferretdbVersion}` : `MongoDB ${buildInfo.version}` },
    "database dialect",
  );
  return dialect;
}

/**
 * Connects with the driver alone (the notifier, tests, scripts: no mongoose loaded), chooses the
 * dialect once and logs it. Ingest and the ai-worker connect through mongoose instead (@pipeline/assets/connect).
 */
export async function connectMongo(url: string, logger: Logger, setting: MongoDialectSetting = "auto"): Promise<MongoConnection> {
  const client = new MongoClient(url, mongoConnectionOptions(url));
  logServerChanges(client, logger);
  await client.connect();
  const db = client.db();
  return { client, db, dialect: await chooseDialect(db, logger, setting) };
}

/** Counts the commands the service sends, by name: `mongodb_commands_total{command}` (what a request or a job costs the database). */
export function countMongoCommands(connection: Pick<MongoConnection, "client">, registry: Registry): void {
  const commands = counter(registry, "mongodb_commands_total", "MongoDB commands sent, by command name", ["command"]);
  connection.client.on("commandStarted", (event) => commands.inc({ command: event.commandName }));
}

export async function mongoIsUp(connection: Pick<MongoConnection, "db">): Promise<boolean> {
  await connection.db.command({ ping: 1 });
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

/** An index as its adapter defines it: key pattern, name and options (as `createIndexes` takes them). */
export type IndexSpec = IndexDescription & { key: Record<string, 1 | -1>; name: string };

/** The options compared between a definition and the index the database holds. */
const COMPARED_OPTIONS = ["unique", "sparse", "expireAfterSeconds", "partialFilterExpression", "collation", "hidden"] as const;

/** An existing index whose key matches a definition but whose options do not. */
export interface IndexDifference {
  collection: string;
  /** The existing index's name. */
  index: string;
  /** The definition it should match. */
  spec: IndexSpec;
  /** Each differing option: what the definition wants, what the database has (null: not set). */
  options: Record<string, { wanted: unknown; found: unknown }>;
}

export interface IndexSync {
  created: string[];
  differing: IndexDifference[];
}

type IndexedCollection = Pick<Collection, "collectionName" | "indexes" | "createIndexes">;

/** A boolean option set to false is the same as one not set. */
const optionValue = (value: unknown) => (value === undefined || value === false ? null : JSON.stringify(value));

/** The compared options in which `existing` differs from `spec`; none when they agree. */
export function indexDifference(collection: string, spec: IndexSpec, existing: Record<string, unknown>): IndexDifference | null {
  const options: IndexDifference["options"] = {};
  for (const option of COMPARED_OPTIONS) {
    const [wanted, found] = [(spec as unknown as Record<string, unknown>)[option], existing[option]];
    if (optionValue(wanted) !== optionValue(found)) options[option] = { wanted: wanted ?? null, found: found ?? null };
  }
  return Object.keys(options).length ? { collection, index: String(existing.name), spec, options } : null;
}

/**
 * Creates the indexes of `specs` that the collection lacks (matched by key pattern), in one
 * `createIndexes`, and compares the options of those it has: a key that matches with other options
 * is reported, never skipped in silence (`bun run migrate` rebuilds it). Asking only for missing
 * ones also keeps clear of servers that drop the connection when `createIndexes` names an existing index.
 */
export async function syncIndexes(collection: IndexedCollection, specs: IndexSpec[]): Promise<IndexSync> {
  const existing = await collection.indexes().catch(() => []);
  const byKey = new Map(existing.map((index) => [JSON.stringify(index.key), index as Record<string, unknown>]));
  const missing = specs.filter((spec) => !byKey.has(JSON.stringify(spec.key)));
  const differing = specs.flatMap((spec) => {
    const found = byKey.get(JSON.stringify(spec.key));
    const difference = found && indexDifference(collection.collectionName, spec, found);
    return difference ? [difference] : [];
  });
  const created = missing.length ? await collection.createIndexes(missing) : [];
  return { created, differing };
}

/** Every collection's sync of one store, as one result. */
export async function syncAllIndexes(definitions: [IndexedCollection, IndexSpec[]][]): Promise<IndexSync> {
  // Every sync runs to its end before a failure is reported, so a refused index leaves the others built.
  const settled = await Promise.allSettled(definitions.map(([collection, specs]) => syncIndexes(collection, specs)));
  const failed = settled.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
  const results = settled.map((result) => (result as PromiseFulfilledResult<IndexSync>).value);
  return { created: results.flatMap((result) => result.created), differing: results.flatMap((result) => result.differing) };
}

export interface IndexBuilds {
  /** What each build is called in the logs, and the build itself (idempotent: a no-op for indexes that exist). */
  [name: string]: () => Promise<IndexSync>;
}

/**
 * Creates indexes at start without holding the service up: it serves at once (queries are correct without
 * their indexes, only slower), and the builds run beside it. On MongoDB ≥ 4.2 a build takes an exclusive
 * lock only briefly at its start and end, so the other replicas keep reading and writing the collection
 * meanwhile; on a replica set `createIndexes` returns when the voting members have built the index, which
 * on a large collection can take minutes, longer than a liveness probe would wait for a server to listen.
 * A build that fails because MongoDB is unreachable is tried again after `retryMs`, up to `attempts` times;
 * any other failure is logged as an error. An existing index with other options than its definition is a
 * warning naming it and the options. Never rejects.
 */
export async function createIndexesInBackground(logger: Logger, builds: IndexBuilds, options: { attempts?: number; retryMs?: number } = {}): Promise<void> {
  const attempts = options.attempts ?? 10;
  const retryMs = options.retryMs ?? 5000;
  await Promise.all(
    Object.entries(builds).map(async ([name, build]) => {
      const started = performance.now();
      for (let attempt = 1; ; attempt++) {
        try {
          const { created, differing } = await build();
          for (const difference of differing) {
            logger.warn(
              { indexes: name, index: difference.index, options: difference.options },
              `index ${difference.index} has other options than its definition (${Object.keys(difference.options).join(", ")}): run bun run migrate to rebuild it`,
            );
          }
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

/**
 * For `bun run migrate`: brings a collection's indexes to `wanted` (one dialect's definitions): drops
 * those only `other` (the other dialect's) defines, rebuilds those whose options differ, creates the missing.
 * Idempotent; each step is printed through `progress`.
 */
export async function reconcileIndexes(collection: Collection, wanted: IndexSpec[], other: IndexSpec[], progress: (line: string) => void): Promise<void> {
  const wantedKeys = new Set(wanted.map((spec) => JSON.stringify(spec.key)));
  const foreign = new Set(other.filter((spec) => !wantedKeys.has(JSON.stringify(spec.key))).map((spec) => JSON.stringify(spec.key)));
  for (const index of await collection.indexes().catch(() => [])) {
    if (!foreign.has(JSON.stringify(index.key))) continue;
    progress(`${collection.collectionName}: dropping index ${index.name} (the other dialect's)`);
    await collection.dropIndex(String(index.name));
  }
  const { created, differing: changed } = await syncIndexes(collection, wanted);
  for (const difference of changed) {
    progress(`${collection.collectionName}: rebuilding index ${difference.index} (${Object.keys(difference.options).join(", ")} differ)`);
    await collection.dropIndex(difference.index);
    await collection.createIndexes([difference.spec]);
  }
  if (created.length) progress(`${collection.collectionName}: created indexes ${created.join(", ")}`);
}
