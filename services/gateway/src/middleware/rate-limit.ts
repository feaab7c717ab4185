/**
 * Fixed-window rate limits kept in Redis, so every gateway replica counts
 * against the same budgets:
 * - per user, uploads (`POST /api/assets/analyze-queue`,
 *   UPLOAD_RATE_LIMIT_PER_MINUTE) and everything else (RATE_LIMIT_PER_MINUTE)
 *   apart, so a burst of uploads does not lock a user out of reading, and
 *   reads do not eat the upload budget;
 * - per client IP, requests without a valid token (IP_RATE_LIMIT_PER_MINUTE),
 *   counted by authentication when it refuses one, so a flood of bad tokens
 *   is 429 once the budget is spent.
 * If Redis is down the limits are skipped: limiting must not take the API
 * down with it.
 */
import { HttpError } from "@pipeline/runtime/http";
import type { Logger } from "@pipeline/runtime/logger";
import type { RedisClient } from "@pipeline/runtime/redis";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { GatewayEnv } from "./auth.ts";
import { clientIp, ipLimitKey } from "./client-ip.ts";

const WINDOW_MS = 60_000;

// One call per request (Redis's INCR rate-limiter pattern): the window's count, its expiry set when the window opens.
// MULTI/INCR/PEXPIRE/EXEC was four commands, and an expiry rewritten on every request.
const COUNT_IN_WINDOW = `
local used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return used
`;

type WithScript = RedisClient & { countInWindow(key: string, windowMs: string): Promise<number> };

export interface Budget {
  /** Part of the Redis key: budgets never share a counter. */
  name: "upload" | "user" | "ip";
  perMinute: number;
}

export class RateLimiter {
  private readonly redis: WithScript;

  constructor(
    redis: RedisClient,
    private readonly options: { keyPrefix: string; logger: Logger },
  ) {
    if (!("countInWindow" in redis)) redis.defineCommand("countInWindow", { numberOfKeys: 1, lua: COUNT_IN_WINDOW });
    this.redis = redis as WithScript;
  }

  /** Counts one request of `subject` against `budget`, sets the RateLimit headers, and throws 429 (with Retry-After) past the budget. */
  async take(c: Context, budget: Budget, subject: string): Promise<void> {
    const window = Math.floor(Date.now() / WINDOW_MS);
    const key = `${this.options.keyPrefix}:ratelimit:${budget.name}:${subject}:${window}`;
    let used: number;
    try {
      used = Number(await this.redis.countInWindow(key, String(WINDOW_MS)));
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message, budget: budget.name }, "rate limit skipped: redis unavailable");
      return;
    }
    if (!Number.isFinite(used)) return;
    c.header("RateLimit-Limit", String(budget.perMinute));
    c.header("RateLimit-Remaining", String(Math.max(0, budget.perMinute - used)));
    if (used > budget.perMinute) {
      const retryAfter = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - Date.now()) / 1000));
      c.header("Retry-After", String(retryAfter));
      throw new HttpError(429, "rate_limited", `too many ${DESCRIPTIONS[budget.name]}; at most ${budget.perMinute} per minute, retry in ${retryAfter} s`);
    }
  }
}

const DESCRIPTIONS: Record<Budget["name"], string> = {
  upload: "uploads",
  user: "requests",
  ip: "requests without a valid token from this address",
};

/** The upload route, which has its own budget. */
export const isUpload = (c: Context) => c.req.method === "POST" && c.req.path === "/api/assets/analyze-queue";

/** After authentication: the user's upload budget for uploads, their general budget for everything else. */
export function userRateLimit(limiter: RateLimiter, limits: { uploadsPerMinute: number; perMinute: number }) {
  const uploads: Budget = { name: "upload", perMinute: limits.uploadsPerMinute };
  const others: Budget = { name: "user", perMinute: limits.perMinute };
  return createMiddleware<GatewayEnv>(async (c, next) => {
    await limiter.take(c, isUpload(c) ? uploads : others, c.var.user.userId);
    await next();
  });
}

/** For authentication to call before it refuses a request: counts it against the client IP's budget (429 past it). */
export function ipRateLimit(limiter: RateLimiter, limits: { perMinute: number; trustProxyHops: number }) {
  const budget: Budget = { name: "ip", perMinute: limits.perMinute };
  return (c: Context) => limiter.take(c, budget, ipLimitKey(clientIp(c, limits.trustProxyHops)));
}
