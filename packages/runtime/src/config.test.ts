import { describe, expect, test } from "bun:test";
import { baseConfigSchema, ConfigError, hashTagOf, loadConfig } from "./config.ts";

describe("Redis Cluster settings", () => {
  test("REDIS_CLUSTER_NODES is parsed into hosts and ports", () => {
    const config = loadConfig(baseConfigSchema, { REDIS_CLUSTER_NODES: "10.0.0.1:7000, redis-b:7001,[::1]:7002" });
    expect(config.REDIS_CLUSTER_NODES).toEqual([
      { host: "10.0.0.1", port: 7000 },
      { host: "redis-b", port: 7001 },
      { host: "::1", port: 7002 },
    ]);
  });

  test("a bad node list stops the service with a message naming the variable", () => {
    for (const value of ["10.0.0.1", "a:1,,b:2", "host:0", "host:70000", "redis://host:7000"]) {
      expect(() => loadConfig(baseConfigSchema, { REDIS_CLUSTER_NODES: value })).toThrow(ConfigError);
      expect(() => loadConfig(baseConfigSchema, { REDIS_CLUSTER_NODES: value })).toThrow(/REDIS_CLUSTER_NODES/);
    }
  });

  test("on a cluster the prefix becomes a hash tag; one that has a tag is kept; without a cluster it is unchanged", () => {
    const nodes = "127.0.0.1:7000";
    expect(loadConfig(baseConfigSchema, { REDIS_CLUSTER_NODES: nodes }).QUEUE_PREFIX).toBe("{bull}");
    expect(loadConfig(baseConfigSchema, { REDIS_CLUSTER_NODES: nodes, QUEUE_PREFIX: "prod.eu" }).QUEUE_PREFIX).toBe("{prod.eu}");
    expect(loadConfig(baseConfigSchema, { REDIS_CLUSTER_NODES: nodes, QUEUE_PREFIX: "{pipeline}.eu" }).QUEUE_PREFIX).toBe("{pipeline}.eu");
    // "{}" is no tag to Redis (the whole key is hashed), so it is wrapped.
    expect(loadConfig(baseConfigSchema, { REDIS_CLUSTER_NODES: nodes, QUEUE_PREFIX: "{}x" }).QUEUE_PREFIX).toBe("{{}x}");
    expect(loadConfig(baseConfigSchema, {}).QUEUE_PREFIX).toBe("bull");
    expect(loadConfig(baseConfigSchema, { QUEUE_PREFIX: "{bull}" }).QUEUE_PREFIX).toBe("{bull}");
  });

  test("hashTagOf follows Redis's rule: the first '{' to the next '}', when not empty", () => {
    expect(hashTagOf("bull")).toBeNull();
    expect(hashTagOf("{bull}")).toBe("bull");
    expect(hashTagOf("a{b}c{d}")).toBe("b");
    expect(hashTagOf("{}{b}")).toBeNull();
    expect(hashTagOf("{b")).toBeNull();
  });
});
