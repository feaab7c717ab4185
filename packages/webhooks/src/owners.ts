/**
 * Which users have webhooks, in Redis: the notifier asks it for every final
 * event, so users without webhooks (most) cost one SISMEMBER instead of a
 * fan-out job and a database query. A user is added before their first
 * webhook is stored and never removed (a stale member only costs a fan-out
 * that finds nothing). If the set is gone (Redis lost its data), every event
 * takes the slow path, and the fan-out puts the set back from the database.
 */
import type { RedisClient } from "@pipeline/runtime/redis";

/** Always in the set, so an empty set still exists and a missing one means "unknown". */
const PRESENT = "-";

// KEYS: the set. ARGV: user id. 1 when the user may have webhooks (a member, or the set is missing).
const MAY_HAVE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 1 end
return redis.call('SISMEMBER', KEYS[1], ARGV[1])
`;

type WithScript = RedisClient & { webhookOwnerMayHave(key: string, userId: string): Promise<number> };

export class WebhookOwners {
  private readonly redis: WithScript;
  private readonly key: string;

  constructor(redis: RedisClient, prefix: string) {
    if (!("webhookOwnerMayHave" in redis)) redis.defineCommand("webhookOwnerMayHave", { numberOfKeys: 1, lua: MAY_HAVE });
    this.redis = redis as WithScript;
    this.key = `${prefix}:webhook-owners`;
  }

  /** Before a user's webhook is stored. */
  async add(userId: string): Promise<void> {
    await this.redis.sadd(this.key, PRESENT, userId);
  }

  /** False only when the user certainly has no webhook. */
  async mayHave(userId: string): Promise<boolean> {
    return (await this.redis.webhookOwnerMayHave(this.key, userId)) === 1;
  }

  /** True when the set is there (false after Redis lost its data). */
  async known(): Promise<boolean> {
    return (await this.redis.exists(this.key)) === 1;
  }

  /** Puts the set back from the database's owners. */
  async rebuild(userIds: string[]): Promise<void> {
    await this.redis.sadd(this.key, PRESENT, ...userIds);
  }
}
