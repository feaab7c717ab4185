/**
 * Writing client events straight into the Socket.IO Redis Streams adapter's
 * stream, as an external emitter would (uid "emitter"): every notifier
 * replica delivers each entry from its stream reader, in stream order. The
 * stream is the one total order all sockets see, so an event written after
 * another reaches every socket after it.
 *
 * An Asset's deletion marker is checked in the same Lua call as the write:
 * once `markDeleted` has run, no later write about that Asset reaches the
 * stream, so neither `asset_progress` nor `asset_processed` can follow
 * `asset_deleted` (which is written after the marker).
 */
import { type ClientEventJob, clientEventJobSchema, roomOf } from "@pipeline/contracts/events";
import type { Redis } from "ioredis";

/** Socket.IO wire constants (socket.io-adapter's MessageType.BROADCAST, socket.io-parser's PacketType.EVENT). */
export const BROADCAST_MESSAGE = 3;
export const EVENT_PACKET = 2;
/** The uid that external emitters use: every replica, the writing one included, delivers such a message from the stream. */
export const EMITTER_UID = "emitter";

/** The adapter's stream of a deployment (its sessions and pub/sub channels are named after it too). */
export const socketStreamName = (prefix: string) => `${prefix}:socket.io`;
/** Set when an Asset is deleted; while it exists, nothing more is written about the Asset. */
export const deletedAssetKey = (prefix: string, assetId: string) => `${prefix}:deleted-asset:${assetId}`;
/** How long a deletion marker is kept: longer than any run or outcome retry of the Asset can last. */
export const DELETED_MARKER_TTL_S = 86_400;

// KEYS: stream, marker. ARGV: maxLen (0 = no trimming), uid, nsp, type, data.
const XADD_UNLESS_DELETED = `
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
if ARGV[1] ~= '0' then
  return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'uid', ARGV[2], 'nsp', ARGV[3], 'type', ARGV[4], 'data', ARGV[5])
end
return redis.call('XADD', KEYS[1], '*', 'uid', ARGV[2], 'nsp', ARGV[3], 'type', ARGV[4], 'data', ARGV[5])
`;

type WithScript = Redis & {
  xaddUnlessDeleted(stream: string, marker: string, maxLen: string, uid: string, nsp: string, type: string, data: string): Promise<string | null>;
};

export interface SocketStreamOptions {
  prefix: string;
  /** Approximate length the stream is trimmed to (0: never trim here; the notifiers trim it). */
  maxLen: number;
}

export class SocketStreamEmitter {
  private readonly redis: WithScript;
  private readonly stream: string;

  constructor(
    redis: Redis,
    private readonly options: SocketStreamOptions,
  ) {
    if (!("xaddUnlessDeleted" in redis)) redis.defineCommand("xaddUnlessDeleted", { numberOfKeys: 2, lua: XADD_UNLESS_DELETED });
    this.redis = redis as WithScript;
    this.stream = socketStreamName(options.prefix);
  }

  /**
   * Writes one client event to its user's room; resolves with the stream id,
   * or null when the event is about an Asset that has been deleted (dropped).
   */
  async emit(job: ClientEventJob): Promise<string | null> {
    const valid = clientEventJobSchema.parse(job);
    const assetId = "assetId" in valid.payload ? valid.payload.assetId : "";
    const data = JSON.stringify({
      packet: { type: EVENT_PACKET, data: [valid.event, valid.payload], nsp: "/" },
      opts: { rooms: [roomOf(valid.userId)], except: [], flags: {} },
    });
    // asset_deleted itself is written after the marker, so it is never checked against it.
    const marker = assetId && valid.event !== "asset_deleted" ? deletedAssetKey(this.options.prefix, assetId) : `${this.stream}:no-marker`;
    return this.redis.xaddUnlessDeleted(this.stream, marker, String(this.options.maxLen), EMITTER_UID, "/", String(BROADCAST_MESSAGE), data);
  }

  /** Marks an Asset deleted: from now on no event about it is written, except `asset_deleted`. */
  async markDeleted(assetId: string, userId: string): Promise<void> {
    await this.redis.set(deletedAssetKey(this.options.prefix, assetId), userId, "EX", DELETED_MARKER_TTL_S);
  }

  /** The owner recorded by `markDeleted`, or null (never deleted, or long ago). */
  deletedBy(assetId: string): Promise<string | null> {
    return this.redis.get(deletedAssetKey(this.options.prefix, assetId));
  }

  /** Undoes `markDeleted` (the deletion itself failed). */
  async unmarkDeleted(assetId: string): Promise<void> {
    await this.redis.del(deletedAssetKey(this.options.prefix, assetId));
  }
}
