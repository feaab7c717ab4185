/** Redis connections for BullMQ, the rate limits and the Socket.IO adapter: one server, or a Redis Cluster. */
import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { ClusterNode } from "./config.ts";

/** What every service holds: a standalone client, or a cluster client (REDIS_CLUSTER_NODES). */
export type RedisClient = Redis | Cluster;

/** The part of a service's configuration that says where Redis is. */
export interface RedisTarget {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: ClusterNode[] | undefined;
}

/**
 * Workers need `maxRetriesPerRequest: null` (they block and must survive
 * reconnects); producers fail fast instead so an HTTP request can answer 503
 * rather than hang while Redis is down.
 */
export function redisConnection(url: string, role: "worker" | "producer", extra?: RedisOptions): Redis;
export function redisConnection(target: RedisTarget, role: "worker" | "producer", extra?: RedisOptions): RedisClient;
export function redisConnection(target: string | RedisTarget, role: "worker" | "producer", extra: RedisOptions = {}): RedisClient {
  const url = typeof target === "string" ? target : target.REDIS_URL;
  const nodes = typeof target === "string" ? undefined : target.REDIS_CLUSTER_NODES;
  const options: RedisOptions = {
    maxRetriesPerRequest: role === "worker" ? null : 1,
    enableOfflineQueue: role === "worker",
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...extra,
  };
  if (!nodes?.length) return new Redis(url, options);
  const { retryStrategy, enableOfflineQueue, ...nodeOptions } = options;
  return new Cluster(nodes, {
    // Per node: the same options, and REDIS_URL's credentials and TLS. Reconnecting and queueing are
    // the cluster's business (a lost node is replaced by its promoted replica, found by refreshing slots).
    redisOptions: { ...nodeOptions, ...credentialsOf(url) },
    clusterRetryStrategy: retryStrategy ?? null,
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableReadyCheck: true,
    scaleReads: "master",
    // Re-read the slot map every 2 s: a client that sent nothing during a failover would otherwise
    // still send to the dead master and be redirected (MOVED) on its next command, which is lost if
    // that command was the last before quit() (the notifier saving sessions as it stops).
    slotsRefreshInterval: 2000,
    // A command to a master that just died is retried (re-reading the slots) until its replica is
    // promoted or maxRedirections tries are spent: about 4 s for workers, which covers a failover with
    // a cluster-node-timeout of 1-2 s; about 1 s for producers, so an HTTP request answers 503 rather
    // than hang (measured with the master killed and no failover).
    retryDelayOnFailover: role === "worker" ? 300 : 100,
    retryDelayOnClusterDown: role === "worker" ? 300 : 100,
    retryDelayOnTryAgain: role === "worker" ? 300 : 100,
    maxRedirections: role === "worker" ? 20 : 16,
  });
}

/** Username, password and TLS from a redis:// or rediss:// URL, for the cluster's nodes. */
function credentialsOf(url: string): RedisOptions {
  const parsed = new URL(url);
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === "rediss:" ? { tls: {} } : {}),
  };
}

/**
 * Standalone: PING. Cluster: the cluster says every slot is served (cluster_state:ok; not so while a dead
 * master's replica is not yet promoted) and every master this client knows answers PING.
 */
export async function redisIsUp(redis: RedisClient): Promise<boolean> {
  if (redis instanceof Cluster) {
    const masters = redis.nodes("master");
    if (redis.status !== "ready" || masters.length === 0) return false;
    const [info, ...pongs] = await Promise.all([redis.cluster("INFO"), ...masters.map((node) => node.ping())]);
    return String(info).includes("cluster_state:ok") && pongs.every((reply) => reply === "PONG");
  }
  return (await redis.ping()) === "PONG";
}
