/**
 * MONGO_URL beyond one node: the config accepts a replica set's or a hosted cluster's URL, and the
 * driver options the services connect with (parsed by the driver itself, without connecting).
 */
import { describe, expect, test } from "bun:test";
import { MongoClient } from "mongodb";
import { ConfigError, loadConfig, mongoConfigSchema } from "./config.ts";
import type { Logger } from "./logger.ts";
import { createIndexesInBackground, indexDifference, isMongoUnavailable, mongoConnectionOptions, resolveDialect, WRITE_CONCERN_TIMEOUT_MS } from "./mongo.ts";

const REPLICA_SET_URL = "mongodb://127.0.0.1:1,127.0.0.1:2/db?replicaSet=rs0";

/** What the driver makes of MONGO_URL with the services' options (a MongoClient parses both when constructed; it connects only on connect()). */
function driverOptions(url: string) {
  const client = new MongoClient(url, mongoConnectionOptions(url));
  return client.options as typeof client.options & { hosts: { toString(): string }[]; dbName: string };
}

describe("MONGO_URL with several hosts", () => {
  test("the config accepts a replica set's URL and a hosted cluster's SRV URL", () => {
    expect(loadConfig(mongoConfigSchema, { MONGO_URL: REPLICA_SET_URL }).MONGO_URL).toBe(REPLICA_SET_URL);
    const atlas = "mongodb+srv://pipeline:secret@cluster0.example.net/collectibles?retryWrites=true&w=majority";
    expect(loadConfig(mongoConfigSchema, { MONGO_URL: atlas }).MONGO_URL).toBe(atlas);
    const withCredentials =
      "mongodb://pipeline:s%2Fcret@mongo-0.mongo:27017,mongo-1.mongo:27017,mongo-2.mongo:27017/collectibles?replicaSet=rs0&authSource=admin";
    expect(loadConfig(mongoConfigSchema, { MONGO_URL: withCredentials }).MONGO_URL).toBe(withCredentials);
  });

  test("the config still wants a database name", () => {
    expect(() => loadConfig(mongoConfigSchema, { MONGO_URL: "mongodb://127.0.0.1:1,127.0.0.1:2/?replicaSet=rs0" })).toThrow(/MONGO_URL/);
  });

  test("the driver gets every host, the replica set, the database, majority writes, retryable writes and primary reads", () => {
    const options = driverOptions(REPLICA_SET_URL);
    expect(options.hosts.map(String)).toEqual(["127.0.0.1:1", "127.0.0.1:2"]);
    expect(options.replicaSet).toBe("rs0");
    expect(options.dbName).toBe("db");
    expect(options.writeConcern?.w).toBe("majority");
    expect(options.writeConcern?.wtimeoutMS).toBe(WRITE_CONCERN_TIMEOUT_MS);
    expect(options.retryWrites).toBe(true);
    expect(options.readPreference.mode).toBe("primary");
  });

  test("a hosted cluster's SRV URL keeps its own options that agree with the services'", () => {
    const options = driverOptions("mongodb+srv://pipeline:secret@cluster0.example.net/collectibles?retryWrites=true&w=majority");
    expect(options.srvHost).toBe("cluster0.example.net");
    expect(options.tls).toBe(true);
    expect(options.writeConcern?.w).toBe("majority");
    expect(options.retryWrites).toBe(true);
  });

  test("retryWrites=false and wtimeoutMS in the URL are honoured (servers without retryable writes)", () => {
    const options = driverOptions(`${REPLICA_SET_URL}&retryWrites=false&wtimeoutMS=2500&journal=true`);
    expect(options.retryWrites).toBe(false);
    expect(options.writeConcern?.w).toBe("majority");
    expect(options.writeConcern?.wtimeoutMS).toBe(2500);
    expect(options.writeConcern?.journal).toBe(true);
  });

  test("a weaker write concern or a secondary read preference in the URL stops the service, naming MONGO_URL", () => {
    expect(() => mongoConnectionOptions(`${REPLICA_SET_URL}&w=1`)).toThrow(ConfigError);
    expect(() => mongoConnectionOptions(`${REPLICA_SET_URL}&w=1`)).toThrow(/MONGO_URL: w=1/);
    expect(() => mongoConnectionOptions(`${REPLICA_SET_URL}&readPreference=secondaryPreferred`)).toThrow(/MONGO_URL: readPreference=secondaryPreferred/);
    expect(() => mongoConnectionOptions(`${REPLICA_SET_URL}&W=majority&readpreference=primary`)).not.toThrow();
  });

  test("a single server (the embedded FerretDB) gets the same options", () => {
    const options = driverOptions("mongodb://127.0.0.1:27017/collectibles");
    expect(options.hosts.map(String)).toEqual(["127.0.0.1:27017"]);
    expect(options.writeConcern?.w).toBe("majority");
  });
});

describe("isMongoUnavailable", () => {
  test("a write no majority acknowledged in time is a dependency outage (503), a bad query is not", () => {
    const writeConcern = Object.assign(new Error("waiting for replication timed out"), { name: "MongoWriteConcernError" });
    expect(isMongoUnavailable(writeConcern)).toBe(true);
    expect(isMongoUnavailable(Object.assign(new Error("unknown operator: $foo"), { name: "MongoServerError" }))).toBe(false);
  });
});

describe("createIndexesInBackground", () => {
  function recordingLogger() {
    const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
    const at = (level: string) => (fields: Record<string, unknown>, message: string) => lines.push({ level, message, fields });
    return { lines, logger: { info: at("info"), warn: at("warn"), error: at("error") } as unknown as Logger };
  }

  test("tries a build again while MongoDB is unreachable, then reports it ready", async () => {
    const { lines, logger } = recordingLogger();
    let calls = 0;
    const build = async () => {
      calls++;
      if (calls < 3) throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { name: "MongoNetworkError" });
      return { created: ["userId_1"], differing: [] };
    };
    await createIndexesInBackground(logger, { assets: build }, { retryMs: 1 });
    expect(calls).toBe(3);
    expect(lines.map((line) => line.level)).toEqual(["warn", "warn", "info"]);
    expect(lines.at(-1)?.fields).toMatchObject({ indexes: "assets", created: ["userId_1"] });
  });

  test("logs any other failure once and never rejects; the other builds still run", async () => {
    const { lines, logger } = recordingLogger();
    const conflict = async () => {
      throw Object.assign(new Error("An existing index has the same name as the requested index"), { name: "MongoServerError", code: 85 });
    };
    await createIndexesInBackground(logger, { assets: conflict, webhooks: async () => ({ created: ["userId_1"], differing: [] }) }, { retryMs: 1 });
    expect(lines.filter((line) => line.level === "error").map((line) => line.fields.indexes)).toEqual(["assets"]);
    expect(lines.filter((line) => line.level === "info").map((line) => line.fields.indexes)).toEqual(["webhooks"]);
  });

  test("gives up after the last attempt", async () => {
    const { lines, logger } = recordingLogger();
    const down = async () => {
      throw Object.assign(new Error("Server selection timed out"), { name: "MongoServerSelectionError" });
    };
    await createIndexesInBackground(logger, { assets: down }, { attempts: 2, retryMs: 1 });
    expect(lines.map((line) => line.level)).toEqual(["warn", "error"]);
  });
});

describe("resolveDialect", () => {
  test("auto: FerretDB 1.x from buildInfo is ferretdb-v1; MongoDB and FerretDB 2 are mongodb; a setting wins", () => {
    expect(resolveDialect("auto", { ferretdbVersion: "v1.24.2" })).toBe("ferretdb-v1");
    expect(resolveDialect("auto", { ferretdbVersion: "v2.1.0" })).toBe("mongodb");
    expect(resolveDialect("auto", {})).toBe("mongodb");
    expect(resolveDialect("mongodb", { ferretdbVersion: "v1.24.2" })).toBe("mongodb");
    expect(resolveDialect("ferretdb-v1", {})).toBe("ferretdb-v1");
  });

  test("MONGO_DIALECT takes auto, mongodb or ferretdb-v1 (default auto) and names itself otherwise", () => {
    const url = "mongodb://127.0.0.1:27017/db";
    expect(loadConfig(mongoConfigSchema, { MONGO_URL: url }).MONGO_DIALECT).toBe("auto");
    expect(loadConfig(mongoConfigSchema, { MONGO_URL: url, MONGO_DIALECT: "ferretdb-v1" }).MONGO_DIALECT).toBe("ferretdb-v1");
    expect(() => loadConfig(mongoConfigSchema, { MONGO_URL: url, MONGO_DIALECT: "ferret" })).toThrow(
      'MONGO_DIALECT: must be "auto", "mongodb" or "ferretdb-v1"',
    );
  });
});

describe("index options", () => {
  const spec = { key: { processingJobId: 1 as const }, name: "processingJobId_1", sparse: true };

  test("a matching key with other options is a difference naming the index and each option; false is the same as unset", () => {
    expect(indexDifference("assets", spec, { key: spec.key, name: "jobs" })).toEqual({
      collection: "assets",
      index: "jobs",
      spec,
      options: { sparse: { wanted: true, found: null } },
    });
    expect(indexDifference("assets", spec, { key: spec.key, name: "jobs", sparse: true, unique: false })).toBeNull();
    const ttl = { key: { createdAt: 1 as const }, name: "createdAt_1", expireAfterSeconds: 60 };
    expect(indexDifference("d", ttl, { key: ttl.key, name: "createdAt_1", expireAfterSeconds: 30 })?.options).toEqual({
      expireAfterSeconds: { wanted: 60, found: 30 },
    });
  });

  test("each difference is a warning naming the index and the options, then the build is ready", async () => {
    const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
    const at = (level: string) => (fields: Record<string, unknown>, message: string) => lines.push({ level, message, fields });
    const logger = { info: at("info"), warn: at("warn"), error: at("error") } as unknown as Logger;
    const difference = indexDifference("assets", spec, { key: spec.key, name: "jobs" });
    await createIndexesInBackground(logger, { assets: async () => ({ created: [], differing: difference ? [difference] : [] }) });
    expect(lines.map((line) => line.level)).toEqual(["warn", "info"]);
    expect(lines[0]?.fields).toMatchObject({ index: "jobs", options: { sparse: { wanted: true, found: null } } });
    expect(lines[0]?.message).toContain("index jobs has other options than its definition (sparse)");
  });
});
