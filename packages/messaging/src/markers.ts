/**
 * The pipeline's markers beside the sockets' stream, read by the stream
 * writer's Lua in the same call as each write:
 * - a deleted Asset: while it is set, nothing more is written about the Asset;
 * - a written event: a final event's id, holding its stream offset; while it
 *   is set, writing that event again is a no-op (exactly once per socket), and
 *   a progress report of that event's run is dropped (the run has finished).
 */
import type { RedisClient } from "@pipeline/runtime/redis";

/** How long a deletion marker is kept: longer than any run of the deleted Asset can last (deletions are rare: a day costs nothing). */
export const DELETION_MARKER_TTL_S = 86_400;

/**
 * How long a written-event marker is kept: one per asset, so it is sized to its use, not to the AI job's
 * 24-hour retention. An event is written again only by a retry or takeover of its outcome job (10 attempts:
 * 500 ms × (2⁹ − 1) ≈ 4.3 min of backoff, plus lock takeovers of seconds each) or by its AI run publishing it
 * again (3 attempts × the 120 s timeout + 6 s of backoff + about a minute of publish hand-backs ≈ 7.5 min).
 * An hour is well past both (messaging's markers test checks it against the options).
 */
export const EVENT_MARKER_TTL_S = 3600;

export const deletedAssetKey = (prefix: string, assetId: string) => `${prefix}:deleted-asset:${assetId}`;
export const writtenEventKey = (prefix: string, eventId: string) => `${prefix}:written-event:${eventId}`;

/** An Asset's deletion marker, set before the Asset is deleted so that no event about it follows `asset_deleted`. */
export class DeletionMarkers {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  /** From now on no event about the Asset is written, except `asset_deleted`. */
  async mark(assetId: string, userId: string): Promise<void> {
    await this.redis.set(deletedAssetKey(this.prefix, assetId), userId, "EX", DELETION_MARKER_TTL_S);
  }

  /** The owner recorded by `mark`, or null (never deleted, or long ago). */
  deletedBy(assetId: string): Promise<string | null> {
    return this.redis.get(deletedAssetKey(this.prefix, assetId));
  }

  /** Undoes `mark` (the deletion itself failed). */
  async unmark(assetId: string): Promise<void> {
    await this.redis.del(deletedAssetKey(this.prefix, assetId));
  }
}
