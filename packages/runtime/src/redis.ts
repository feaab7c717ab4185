/** Redis connections for BullMQ, the rate limits and the Socket.IO adapter. */
import { Redis, type RedisOptions } from "ioredis";

/**
 * Workers need `maxRetriesPerRequest: null` (they block and must survive
 * reconnects); producers fail fast instead so an HTTP request can answer 503
 * rather than hang while Redis is down.
 */
export function redisConnection(url: string, role: "worker" | "producer", extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: role === "worker" ? null : 1,
    enableOfflineQueue: role === "worker",
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...extra,
  });
}

export async function redisIsUp(redis: Redis): Promise<boolean> {
  return (await redis.ping()) === "PONG";
}
