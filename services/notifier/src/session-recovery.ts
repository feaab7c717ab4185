/**
 * Connection state recovery, made exact. Socket.IO's own recovery (with the
 * Redis Streams adapter) replays a returning socket's missed events from the
 * stream, but:
 *
 * - it sends them before the handshake middleware has re-checked the token
 *   (so an expired token, or another user's token presented with a stolen
 *   session id, would still receive them);
 * - a socket that has not received any event yet has no offset, so it can
 *   never be recovered;
 * - events read by this replica between the replay's XRANGE and the moment
 *   the socket is connected are lost to it, and events in the replay that this
 *   replica's stream reader has not reached yet arrive twice.
 *
 * This module wraps the adapter so that the replay is sent only by the last
 * middleware (after the token was checked again), built from the adapter's
 * XRANGE plus the entries this replica has read since (kept for a short
 * while), deduplicated by stream id, in stream order; live deliveries of
 * entries already replayed are skipped for that socket. Every admitted socket
 * gets a `session` event that carries its current offset.
 */
import type { ClientEventPayload } from "@pipeline/contracts/events";
import type { Logger } from "@pipeline/runtime/logger";
import type { RedisClient } from "@pipeline/runtime/redis";
import { BROADCAST_MESSAGE } from "@pipeline/runtime/socket-stream";
import type { Socket } from "socket.io";
import { type EncodedBroadcastOptions, type StreamAdapter, writeDirect } from "./stream-adapter.ts";

const PENDING = Symbol("pending replay");

interface PendingReplay {
  clientOffset: string;
  /** This replica's read position when the restore began: everything it read after is in `recent`. */
  readPositionAtRestore: string | undefined;
  missed: Map<string, unknown[]>;
}

interface RecentEntry {
  id: string;
  at: number;
  rooms: string[];
  except: string[];
  data: unknown[];
}

/** Orders Redis stream ids (`<ms>-<seq>`). */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = "0", aSeq = "0"] = a.split("-");
  const [bMs = "0", bSeq = "0"] = b.split("-");
  return Number(aMs) - Number(bMs) || Number(aSeq) - Number(bSeq);
}

function reaches(entry: { rooms: string[]; except: string[] }, rooms: ReadonlySet<string>): boolean {
  const included = entry.rooms.length === 0 || entry.rooms.some((room) => rooms.has(room));
  return included && !entry.except.some((room) => rooms.has(room));
}

export interface SessionRecoveryOptions {
  logger: Logger;
  /** How long entries read from the stream are kept for replays (they are needed for milliseconds). */
  recentMs?: number;
  recentMax?: number;
}

export class SessionRecovery {
  /** The newest stream id this replica's reader has handled: no entry at or before it will be delivered live from now on. */
  private readPosition: string | undefined;
  /** True while readPosition is this replica's start marker rather than an entry it has read. */
  private readPositionIsMarker = false;
  private readonly recent: (RecentEntry | undefined)[] = [];
  private head = 0;
  /** The newest id dropped from `recent`. */
  private evictedUpTo: string | undefined;
  /** Sockets that must not get live entries at or before an offset (already replayed, or older than their first offset). */
  private readonly watermarks = new Map<string, string>();
  private readonly recentMs: number;
  private readonly recentMax: number;

  constructor(
    private readonly adapter: StreamAdapter,
    private readonly options: SessionRecoveryOptions,
  ) {
    this.recentMs = options.recentMs ?? 10_000;
    this.recentMax = options.recentMax ?? 5_000;
    this.install();
  }

  /**
   * Writes a marker entry (no namespace: readers skip it) so that sockets
   * connected before this replica has read any entry still get a valid offset.
   */
  async start(redis: RedisClient, streamName: string, maxLen: number): Promise<void> {
    const id = await redis.xadd(streamName, "MAXLEN", "~", String(maxLen), "*", "notifier", "start");
    if (id && this.readPosition === undefined) {
      this.readPosition = id;
      this.readPositionIsMarker = true;
    }
  }

  /**
   * Called by the last middleware, once the socket is accepted: replays what
   * a recovered socket missed, then sends the `session` event with its offset.
   * Socket.IO connects the socket on the next tick, so no stream entry is read
   * in between. Returns how many events were replayed.
   */
  welcome(socket: Socket, info: ClientEventPayload<"session">): number {
    const data = socket.data as Record<PropertyKey, unknown>;
    const pending = data[PENDING] as PendingReplay | undefined;
    delete data[PENDING];
    let offset = this.readPosition;
    let replayed = 0;
    if (socket.recovered && pending) {
      const { missed, clientOffset, readPositionAtRestore } = pending;
      if (this.evictedUpTo !== undefined && (readPositionAtRestore === undefined || compareStreamIds(this.evictedUpTo, readPositionAtRestore) > 0)) {
        this.options.logger.warn(
          { socketId: socket.id },
          "recovery slower than the recent-entries window: events read meanwhile may be missing from the replay",
        );
      }
      for (let i = this.head; i < this.recent.length; i++) {
        const entry = this.recent[i];
        if (entry && compareStreamIds(entry.id, clientOffset) > 0 && reaches(entry, socket.rooms)) missed.set(entry.id, entry.data);
      }
      const ids = [...missed.keys()].sort(compareStreamIds);
      for (const id of ids) writeDirect(socket, [...(missed.get(id) ?? []), id]);
      replayed = ids.length;
      const newest = ids.at(-1);
      if (newest !== undefined && (offset === undefined || compareStreamIds(newest, offset) > 0)) offset = newest;
    }
    if (offset !== undefined && (this.readPositionIsMarker || (this.readPosition !== undefined && compareStreamIds(offset, this.readPosition) > 0))) {
      this.watermarks.set(socket.id, offset);
      socket.once("disconnect", () => this.watermarks.delete(socket.id));
    }
    writeDirect(socket, offset === undefined ? ["session", info] : ["session", info, offset]);
    return replayed;
  }

  /** The user a restored session belonged to (before the middleware re-authenticates). */
  static restoredUserId(socket: Socket): string | undefined {
    const user = (socket.data as { user?: { userId?: unknown } } | undefined)?.user;
    return typeof user?.userId === "string" ? user.userId : undefined;
  }

  private install(): void {
    const adapter = this.adapter;
    const onRawMessage = adapter.onRawMessage.bind(adapter);
    const onMessage = adapter.onMessage.bind(adapter);
    const restoreSession = adapter.restoreSession.bind(adapter);

    adapter.onRawMessage = (raw, offset) => {
      onRawMessage(raw, offset);
      if (this.readPosition === undefined || compareStreamIds(offset, this.readPosition) > 0) {
        this.readPosition = offset;
        this.readPositionIsMarker = false;
      }
    };

    adapter.onMessage = (message, offset) => {
      const packet = message.data?.packet;
      const opts = message.data?.opts;
      const isStreamBroadcast =
        offset !== undefined &&
        message.type === BROADCAST_MESSAGE &&
        message.uid !== adapter.uid &&
        message.nsp === adapter.nsp.name &&
        packet !== undefined &&
        opts !== undefined &&
        message.data?.requestId === undefined;
      if (isStreamBroadcast) {
        this.remember(offset, opts, packet.data);
        this.skipAlreadyReplayed(offset, opts);
      }
      onMessage(message, offset);
    };

    adapter.restoreSession = async (pid, clientOffset) => {
      const readPositionAtRestore = this.readPosition;
      const session = await restoreSession(pid, clientOffset);
      if (!session) return session;
      const missed = new Map<string, unknown[]>();
      for (const packet of session.missedPackets) {
        const id = packet.at(-1);
        if (typeof id === "string") missed.set(id, packet.slice(0, -1));
      }
      // Held back until the middleware has accepted the socket; see welcome().
      session.missedPackets = [];
      const data = (typeof session.data === "object" && session.data !== null ? session.data : {}) as Record<PropertyKey, unknown>;
      data[PENDING] = { clientOffset, readPositionAtRestore, missed } satisfies PendingReplay;
      session.data = data;
      return session;
    };
  }

  private remember(id: string, opts: EncodedBroadcastOptions, data: unknown[]): void {
    const now = Date.now();
    this.recent.push({ id, at: now, rooms: [...opts.rooms], except: [...opts.except], data: [...data] });
    while (this.head < this.recent.length) {
      const oldest = this.recent[this.head];
      if (oldest && this.recent.length - this.head <= this.recentMax && oldest.at >= now - this.recentMs) break;
      if (oldest) this.evictedUpTo = oldest.id;
      this.recent[this.head++] = undefined;
    }
    if (this.head > 1024 && this.head * 2 > this.recent.length) {
      this.recent.splice(0, this.head);
      this.head = 0;
    }
  }

  private skipAlreadyReplayed(offset: string, opts: EncodedBroadcastOptions): void {
    for (const [socketId, watermark] of this.watermarks) {
      if (compareStreamIds(offset, watermark) <= 0) opts.except.push(socketId);
      else this.watermarks.delete(socketId);
    }
  }
}
