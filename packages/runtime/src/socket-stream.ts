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
 * `asset_deleted` (which is written after the marker). Likewise a run's
 * final event marks the run finished in the same call, and a progress
 * report of a finished run (a duplicate run after a stall) is dropped.
 */
import { type ClientEventJob, clientEventJobSchema, roomOf } from "@pipeline/contracts/events";
import type { RedisClient } from "./redis.ts";

/** Socket.IO wire constants (socket.io-adapter's MessageType.BROADCAST, socket.io-parser's PacketType.EVENT). */
export const BROADCAST_MESSAGE = 3;
export const EVENT_PACKET = 2;
/** The uid that external emitters use: every replica, the writing one included, delivers such a message from the stream. */
export const EMITTER_UID = "emitter";

/** The adapter's stream of a deployment (its sessions and pub/sub channels are named after it too). */
export const socketStreamName = (prefix: string) => `${prefix}:socket.io`;
/** Set when an Asset is deleted; while it exists, nothing more is written about the Asset. */
export const deletedAssetKey = (prefix: string, assetId: string) => `${prefix}:deleted-asset:${assetId}`;
/** How long a deletion or finished-run marker is kept: longer than any run or outcome retry of the Asset can last. */
export const MARKER_TTL_S = 86_400;

/** Set once a run's final event is written; while it exists, no progress of that run is written. */
export const finishedRunKey = (prefix: string, aiJobId: string) => `${prefix}:finished-run:${aiJobId}`;

// KEYS: stream, deletion marker, run marker. ARGV: maxLen (0 = no trimming), uid, nsp, type, data,
// role of the event in its run ("progress": dropped once the run finished; "final": finishes the run; else ""), marker TTL.
const XADD_UNLESS_DELETED = `
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
if ARGV[6] == 'progress' and redis.call('EXISTS', KEYS[3]) == 1 then return false end
local id
if ARGV[1] ~= '0' then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'uid', ARGV[2], 'nsp', ARGV[3], 'type', ARGV[4], 'data', ARGV[5])
else
  id = redis.call('XADD', KEYS[1], '*', 'uid', ARGV[2], 'nsp', ARGV[3], 'type', ARGV[4], 'data', ARGV[5])
end
if ARGV[6] == 'final' then redis.call('SET', KEYS[3], '1', 'EX', ARGV[7]) end
return id
`;

type WithScript = RedisClient & {
  xaddUnlessDeleted(
    stream: string,
    deletionMarker: string,
    runMarker: string,
    maxLen: string,
    uid: string,
    nsp: string,
    type: string,
    data: string,
    role: string,
    markerTtlS: string,
  ): Promise<string | null>;
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
    redis: RedisClient,
    private readonly options: SocketStreamOptions,
  ) {
    if (!("xaddUnlessDeleted" in redis)) redis.defineCommand("xaddUnlessDeleted", { numberOfKeys: 3, lua: XADD_UNLESS_DELETED });
    this.redis = redis as WithScript;
    this.stream = socketStreamName(options.prefix);
  }

  /**
   * Writes one client event to its user's room; resolves with the stream id,
   * or null when it was dropped: it is about a deleted Asset, or it is the
   * progress of a run (`runId`, the AI job id) whose final event is already
   * written (a duplicate run still going after a stall). A final event
   * (`asset_processed`) with its `runId` marks that run finished.
   */
  async emit(job: ClientEventJob, runId?: string): Promise<string | null> {
    return this.write(clientEventJobSchema.parse(job), runId);
  }

  /** `emit` for an event already checked against the client-event map (the outcome consumer checks every job it takes). */
  async write(valid: ClientEventJob, runId?: string): Promise<string | null> {
    const assetId = "assetId" in valid.payload ? valid.payload.assetId : "";
    const data = JSON.stringify({
      packet: { type: EVENT_PACKET, data: [valid.event, valid.payload], nsp: "/" },
      opts: { rooms: [roomOf(valid.userId)], except: [], flags: {} },
    });
    // Placeholders share the prefix, so in a cluster every key of the call is in one slot.
    const none = `${this.stream}:no-marker`;
    // asset_deleted itself is written after the marker, so it is never checked against it.
    const deletion = assetId && valid.event !== "asset_deleted" ? deletedAssetKey(this.options.prefix, assetId) : none;
    const role = !runId ? "" : valid.event === "asset_progress" ? "progress" : valid.event === "asset_processed" ? "final" : "";
    const run = role ? finishedRunKey(this.options.prefix, runId as string) : none;
    return this.redis.xaddUnlessDeleted(
      this.stream,
      deletion,
      run,
      String(this.options.maxLen),
      EMITTER_UID,
      "/",
      String(BROADCAST_MESSAGE),
      data,
      role,
      String(MARKER_TTL_S),
    );
  }

  /** Marks an Asset deleted: from now on no event about it is written, except `asset_deleted`. */
  async markDeleted(assetId: string, userId: string): Promise<void> {
    await this.redis.set(deletedAssetKey(this.options.prefix, assetId), userId, "EX", MARKER_TTL_S);
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
