/**
 * A stack of real service processes for one test file: its own database,
 * queue prefix, storage folder and ports, so test files cannot disturb each
 * other. Services can be added (replicas), killed and restarted.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AssetStore, openAssetStore } from "@pipeline/assets";
import { baseConfigSchema, loadConfig, mongoConfigSchema } from "@pipeline/runtime/config";
import { createLogger } from "@pipeline/runtime/logger";
import { connectMongo, type MongoConnection, type MongoDialectSetting } from "@pipeline/runtime/mongo";
import { type RedisClient, redisConnection } from "@pipeline/runtime/redis";
import type { Subprocess } from "bun";
import { Redis } from "ioredis";
import mongoose from "mongoose";
import { freePort, type ServiceName, startServiceOnFreePort, stopProcess } from "../../scripts/lib/processes.ts";
import { requireRedis, sharedMongoBase, TEST_REDIS_URL } from "./shared-servers.ts";

export const TEST_JWT_SECRET = "test-secret-0123456789abcdef";

/** A logger for connections tests open themselves. */
export const quietLogger = createLogger("test");
quietLogger.level = "silent";

export interface ServiceHandle {
  name: ServiceName;
  port: number;
  url: string;
  proc: Subprocess;
}

export interface StackOptions {
  /** Which services to start, in order (default: all four). */
  services?: ServiceName[];
  env?: Record<string, string>;
  /** Print the services' logs (default: only with TEST_LOGS=1). */
  logs?: boolean;
  /** REDIS_CLUSTER_NODES: the services use this Redis Cluster instead of the shared Redis, with the prefix `{<id>}`. */
  redisCluster?: string;
}

export class Stack {
  readonly id = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  readonly storageDir = mkdtempSync(join(tmpdir(), "pipeline-media-"));
  readonly mongoUrl: string;
  readonly services: ServiceHandle[] = [];
  readonly env: Record<string, string>;
  private readonly logs: boolean;
  gatewayPort = 0;

  private constructor(mongoBase: string, options: StackOptions = {}) {
    const base = mongoBase;
    this.mongoUrl = options.env?.MONGO_URL ?? `${base}/${this.id}`;
    this.logs = options.logs ?? process.env.TEST_LOGS === "1";
    this.env = {
      JWT_SECRET: TEST_JWT_SECRET,
      MONGO_URL: this.mongoUrl,
      ...(options.redisCluster ? { REDIS_CLUSTER_NODES: options.redisCluster } : { REDIS_URL: TEST_REDIS_URL }),
      // The services would hash-tag it themselves on a cluster; tagged here, tests and services name keys alike.
      QUEUE_PREFIX: options.redisCluster ? `{${this.id}}` : this.id,
      STORAGE_DIR: this.storageDir,
      LOG_LEVEL: this.logs ? "debug" : "warn",
      ...options.env,
    };
  }

  static async start(options: StackOptions = {}): Promise<Stack> {
    if (!options.redisCluster) await requireRedis();
    const stack = new Stack(await sharedMongoBase(), options);
    stack.gatewayPort = await freePort();
    stack.env.PUBLIC_URL = `http://127.0.0.1:${stack.gatewayPort}`;
    for (const name of options.services ?? (["ingest", "ai-worker", "notifier", "gateway"] as ServiceName[])) {
      await stack.add(name);
    }
    return stack;
  }

  /**
   * Starts one more replica of `name` (the first gateway takes the stack's public port). `port` restarts a
   * killed service where others still point (the gateway's INGEST_URL, a proxy's backend).
   */
  async add(name: ServiceName, env: Record<string, string> = {}, options: { port?: number } = {}): Promise<ServiceHandle> {
    const fixedPort = options.port ?? (name === "gateway" && !this.find("gateway") ? this.gatewayPort : undefined);
    const ingest = this.find("ingest");
    const { proc, port, url } = await startServiceOnFreePort(
      name,
      { ...this.env, ...(ingest ? { INGEST_URL: ingest.url } : {}), ...env },
      {
        quiet: !this.logs,
        ...(fixedPort ? { fixedPort } : {}),
      },
    );
    const handle = { name, port, url, proc };
    this.services.push(handle);
    return handle;
  }

  find(name: ServiceName): ServiceHandle | undefined {
    return this.services.find((service) => service.name === name && service.proc.exitCode === null);
  }

  get(name: ServiceName): ServiceHandle {
    const handle = this.find(name);
    if (!handle) throw new Error(`no running ${name}`);
    return handle;
  }

  get gatewayUrl(): string {
    return `http://127.0.0.1:${this.gatewayPort}`;
  }

  /** A direct connection to this stack's database, for assertions. */
  async db(): Promise<mongoose.Connection> {
    this.connection ??= await mongoose.createConnection(this.mongoUrl).asPromise();
    return this.connection;
  }
  private connection?: mongoose.Connection;

  /** MONGO_DIALECT as the services get it (the test run's, unless the stack sets one). */
  get dialectSetting(): MongoDialectSetting {
    return loadConfig(mongoConfigSchema, { ...process.env, ...this.env }).MONGO_DIALECT;
  }

  /** A driver connection to this stack's database with the services' dialect, and the Asset store they use. */
  async assetStore(): Promise<AssetStore> {
    return openAssetStore(await this.mongoConnection());
  }

  async mongoConnection(): Promise<MongoConnection> {
    this.mongo ??= await connectMongo(this.mongoUrl, quietLogger, this.dialectSetting);
    return this.mongo;
  }
  private mongo?: MongoConnection;

  /** The services' key prefix (QUEUE_PREFIX). */
  get prefix(): string {
    return this.env.QUEUE_PREFIX as string;
  }

  redis(): RedisClient {
    this.redisClient ??= this.env.REDIS_CLUSTER_NODES
      ? redisConnection(loadConfig(baseConfigSchema, this.env), "worker")
      : new Redis(this.env.REDIS_URL as string, { maxRetriesPerRequest: null });
    return this.redisClient;
  }
  private redisClient?: RedisClient;

  private readonly cleanups: (() => unknown)[] = [];

  /** Registers something the test made (a socket, a stand-in, a queue handle) to close when the stack stops, first. */
  onStop<T extends { close?: () => unknown; stop?: () => unknown }>(resource: T): T {
    this.cleanups.push(() => (resource.close ?? resource.stop)?.call(resource));
    return resource;
  }

  async stop(): Promise<void> {
    for (const cleanup of this.cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    await Promise.all(this.services.map((service) => stopProcess(service.proc, 10_000)));
    await this.connection?.dropDatabase().catch(() => undefined);
    await this.connection?.close();
    await this.mongo?.client.close();
    if (this.redisClient instanceof Redis) {
      const keys = await this.redisClient.keys(`${this.id}:*`);
      if (keys.length) await this.redisClient.del(...keys);
    } else if (this.redisClient) {
      // A cluster: the stack's keys share its prefix's slot, on one master (best effort: a test may have killed nodes).
      const found = await Promise.all(this.redisClient.nodes("master").map((node) => node.keys(`${this.prefix}:*`).catch(() => [])));
      const keys = found.flat();
      if (keys.length) await this.redisClient.del(...keys).catch(() => undefined);
    }
    this.redisClient?.disconnect();
    rmSync(this.storageDir, { recursive: true, force: true });
  }
}
