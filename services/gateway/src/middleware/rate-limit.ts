/**
 * Per-user fixed-window rate limit kept in Redis, so every gateway replica
 * counts against the same budget. If Redis is down the limit is skipped:
 * limiting must not take the API down with it.
 */
import { HttpError } from "@pipeline/runtime/http";
import type { Logger } from "@pipeline/runtime/logger";
import { createMiddleware } from "hono/factory";
import type { Redis } from "ioredis";
import type { GatewayEnv } from "./auth.ts";

const WINDOW_MS = 60_000;

export function rateLimit(redis: Redis, options: { perMinute: number; keyPrefix: string; logger: Logger }) {
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const window = Math.floor(Date.now() / WINDOW_MS);
    const key = `${options.keyPrefix}:ratelimit:${c.var.user.userId}:${window}`;
    let used: number | undefined;
    try {
      const replies = await redis.multi().incr(key).pexpire(key, WINDOW_MS).exec();
      used = Number(replies?.[0]?.[1]);
    } catch (error) {
      options.logger.warn({ err: (error as Error).message }, "rate limit skipped: redis unavailable");
    }
    if (used !== undefined) {
      const remaining = Math.max(0, options.perMinute - used);
      c.header("RateLimit-Limit", String(options.perMinute));
      c.header("RateLimit-Remaining", String(remaining));
      if (used > options.perMinute) {
        const retryAfter = Math.ceil(((window + 1) * WINDOW_MS - Date.now()) / 1000);
        c.header("Retry-After", String(retryAfter));
        throw new HttpError(429, "rate_limited", `too many requests; at most ${options.perMinute} per minute, retry in ${retryAfter} s`);
      }
    }
    await next();
  });
}
