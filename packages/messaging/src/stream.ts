/**
 * Writing client events into the Socket.IO Redis Streams adapter's stream, as
 * an external emitter would: every notifier replica delivers each entry to
 * its sockets, in stream order. Each write is one Lua call that also reads
 * and sets the markers (markers.ts), so:
 * - nothing about a deleted Asset follows `asset_deleted`;
 * - a final event is written once by its id: an outcome retried or taken
 *   over from a notifier that died after writing it is not written again;
 * - a progress report of a finished run (a duplicate run after a stall) is dropped.
 */
import { type ClientEventJob, roomOf } from "@pipeline/contracts/events";
import type { RedisClient } from "@pipeline/runtime/redis";
import { BROADCAST_MESSAGE, EMITTER_UID, EVENT_PACKET, socketStreamName } from "@pipeline/runtime/socket-stream";
import { outcomeIdFor } from "./ids.ts";
import { deletedAssetKey, EVENT_MARKER_TTL_S, writtenEventKey } from "./markers.ts";

// KEYS: stream, deletion marker, event marker, the run's job hash. ARGV: maxLen (0 = no trimming), uid, nsp, type, data,
// role ("final": written once, by its marker; "progress": dropped once its run's final event is written; "": neither), marker TTL,
// the job's progress (JSON, or '' for none): set on the job, if it still exists, with the write, so a report is one call, not two.
// The event marker is checked before the deletion marker: a final event already written reports "duplicate", so its
// webhooks still fan out (idempotently) even if the Asset was deleted since.
const WRITE_EVENT = `
if ARGV[6] ~= '' then
  local written = redis.call('GET', KEYS[3])
  if written then
    if ARGV[6] == 'final' then return {'duplicate', written} end
    return {'dropped', ''}
  end
end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'dropped', ''} end
local id
if ARGV[1] ~= '0' then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'uid', ARGV[2], 'nsp', ARGV[3], 'type', ARGV[4], 'data', ARGV[5])
else
  id = redis.call('XADD', KEYS[1], '*', 'uid', ARGV[2], 'nsp', ARGV[3], 'type', ARGV[4], 'data', ARGV[5])
end
if ARGV[6] == 'final' then redis.call('SET', KEYS[3], id, 'EX', ARGV[7]) end
if ARGV[8] ~= '' and redis.call('EXISTS', KEYS[4]) == 1 then redis.call('HSET', KEYS[4], 'progress', ARGV[8]) end
return {'written', id}
`;

type WithScript = RedisClient & {
  writeClientEvent(
    ...args: [
      stream: string,
      deletion: string,
      marker: string,
      job: string,
      maxLen: string,
      uid: string,
      nsp: string,
      type: string,
      data: string,
      role: string,
      ttl: string,
      progress: string,
    ]
  ): Promise<[string, string]>;
};

/** What became of a write: `written` (new stream entry), `duplicate` (this final event was written before, at `offset`), or `dropped`. */
export type WriteResult = { status: "written" | "duplicate"; offset: string } | { status: "dropped"; offset: null };

/** How an event relates to its run: a final event has its own id; a progress report names its run. */
export type StreamRole = { final: string } | { progressOf: string } | null;

/** A BullMQ job's progress to set with a write: the job's hash (jobKeyOf) and the value `job.progress` will read. */
export interface JobProgress {
  jobKey: string;
  progress: unknown;
}

export interface SocketStreamOptions {
  prefix: string;
  /** Approximate length the stream is trimmed to (0: never trim here; the notifiers trim it). */
  maxLen: number;
}

export class SocketStreamWriter {
  private readonly redis: WithScript;
  private readonly stream: string;

  constructor(
    redis: RedisClient,
    private readonly options: SocketStreamOptions,
  ) {
    if (!("writeClientEvent" in redis)) redis.defineCommand("writeClientEvent", { numberOfKeys: 4, lua: WRITE_EVENT });
    this.redis = redis as WithScript;
    this.stream = socketStreamName(options.prefix);
  }

  /**
   * Writes one event (already checked against the client-event map) to its user's room; with `jobProgress`, also
   * sets that BullMQ job's progress (its hash's `progress` field, what `job.progress` reads) when it is written.
   */
  async write(valid: ClientEventJob, role: StreamRole, jobProgress?: JobProgress): Promise<WriteResult> {
    const assetId = "assetId" in valid.payload ? valid.payload.assetId : "";
    const data = JSON.stringify({
      packet: { type: EVENT_PACKET, data: [valid.event, valid.payload], nsp: "/" },
      opts: { rooms: [roomOf(valid.userId)], except: [], flags: {} },
    });
    // Placeholders share the prefix, so in a cluster every key of the call is in one slot.
    const none = `${this.stream}:no-marker`;
    const { prefix } = this.options;
    // asset_deleted itself is written after the marker, so it is never checked against it.
    const deletion = assetId && valid.event !== "asset_deleted" ? deletedAssetKey(prefix, assetId) : none;
    const marker = !role ? none : writtenEventKey(prefix, "final" in role ? role.final : outcomeIdFor(role.progressOf));
    const kind = !role ? "" : "final" in role ? "final" : "progress";
    const [status, offset] = await this.redis.writeClientEvent(
      this.stream,
      deletion,
      marker,
      jobProgress?.jobKey ?? none,
      String(this.options.maxLen),
      EMITTER_UID,
      "/",
      String(BROADCAST_MESSAGE),
      data,
      kind,
      String(EVENT_MARKER_TTL_S),
      jobProgress ? JSON.stringify(jobProgress.progress) : "",
    );
    return status === "dropped" ? { status, offset: null } : { status: status as "written" | "duplicate", offset };
  }
}
