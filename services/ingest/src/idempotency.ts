/**
 * Idempotent uploads (`Idempotency-Key`): the first request with a key
 * claims it in Redis (SET NX) and its answer is kept for 24 hours; the same
 * key from the same user with the same request gets that answer again and
 * creates nothing; with a different request, 422. A request that arrives
 * while the first is still running waits for its answer (then 409 if it
 * takes too long). A claim whose request failed is released, so the client
 * can try again. A claim is kept alive while its request runs and expires
 * `pendingTtlS` after its process died (or after Redis lost the release), so
 * a client retrying after a crash waits seconds, not minutes.
 */
import { type Accepted, acceptedSchema } from "@pipeline/contracts/asset";
import { HttpError, orUnavailable } from "@pipeline/runtime/http";
import type { RedisClient } from "@pipeline/runtime/redis";
import { z } from "zod";

/** Set on an answer that is a replay of the first request's. */
export const REPLAYED_HEADER = "Idempotent-Replayed";

const recordSchema = z.discriminatedUnion("state", [
  z.object({ state: z.literal("pending"), fingerprint: z.string() }),
  z.object({ state: z.literal("done"), fingerprint: z.string(), answer: acceptedSchema }),
]);
type IdempotencyRecord = z.infer<typeof recordSchema>;

export interface IdempotencyOptions {
  prefix: string;
  /** How long an answer is kept (24 h). */
  ttlS?: number;
  /** How long a claim lives without an answer (the request's process died). */
  pendingTtlS?: number;
  /** How long a concurrent request waits for the first one's answer. */
  waitMs?: number;
}

export class IdempotentUploads {
  private readonly ttlS: number;
  private readonly pendingTtlS: number;
  private readonly waitMs: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: IdempotencyOptions,
  ) {
    this.ttlS = options.ttlS ?? 86_400;
    this.pendingTtlS = options.pendingTtlS ?? 10;
    this.waitMs = options.waitMs ?? 10_000;
  }

  /** A fingerprint of the request: the same key with another image (or category) is a different request. */
  static fingerprint(category: string, image: Uint8Array): string {
    return new Bun.CryptoHasher("sha256").update(category).update("\n").update(image).digest("hex");
  }

  /** Runs `upload` once per (user, key); `replayed` tells whether the answer is the first request's. */
  async once(userId: string, key: string, fingerprint: string, upload: () => Promise<Accepted>): Promise<{ answer: Accepted; replayed: boolean }> {
    const redisKey = `${this.options.prefix}:idempotency:${userId}:${new Bun.CryptoHasher("sha256").update(key).digest("hex")}`;
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const pending: IdempotencyRecord = { state: "pending", fingerprint };
      const claimed = await orUnavailable("redis", () => this.redis.set(redisKey, JSON.stringify(pending), "EX", this.pendingTtlS, "NX"));
      if (claimed) return { answer: await this.runClaimed(redisKey, fingerprint, upload), replayed: false };
      const existing = await this.read(redisKey);
      if (!existing) continue; // released or expired between our SET and GET: claim again
      if (existing.fingerprint !== fingerprint)
        throw new HttpError(422, "unprocessable_entity", "this Idempotency-Key was used with a different request; use a new key for a new upload");
      if (existing.state === "done") return { answer: existing.answer, replayed: true };
      if (Date.now() >= deadline) throw new HttpError(409, "conflict", "a request with this Idempotency-Key is still in progress; retry later");
      await Bun.sleep(50);
    }
  }

  private async runClaimed(redisKey: string, fingerprint: string, upload: () => Promise<Accepted>): Promise<Accepted> {
    let answer: Accepted;
    // Keeps the claim alive while the upload runs (a slow storage backend), and only then.
    const keepAlive = setInterval(() => void this.redis.expire(redisKey, this.pendingTtlS).catch(() => undefined), (this.pendingTtlS * 1000) / 3);
    try {
      answer = await upload();
    } catch (error) {
      await this.redis.del(redisKey).catch(() => undefined);
      throw error;
    } finally {
      clearInterval(keepAlive);
    }
    const done: IdempotencyRecord = { state: "done", fingerprint, answer };
    // The upload is accepted: if its answer cannot be kept, a retry would make a second Asset, so it is still this answer.
    await this.redis.set(redisKey, JSON.stringify(done), "EX", this.ttlS).catch(() => undefined);
    return answer;
  }

  private async read(redisKey: string): Promise<IdempotencyRecord | null> {
    const raw = await orUnavailable("redis", () => this.redis.get(redisKey));
    if (raw === null) return null;
    const parsed = recordSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  }
}
