/**
 * The parts of the Redis Streams adapter (one instance per namespace) that
 * the notifier builds on. Socket.IO types the adapter as the in-memory base
 * class; these members exist on the cluster adapter, some `protected` in
 * its typings, so they are reached through this one narrow view.
 */

import { EVENT_PACKET } from "@pipeline/runtime/socket-stream";
import type { Server, Socket } from "socket.io";

export interface EncodedBroadcastOptions {
  rooms: string[];
  except: string[];
  flags?: Record<string, unknown>;
}

export interface ClusterMessage {
  uid: string;
  nsp: string;
  type: number;
  data?: {
    packet?: { type: number; data: unknown[]; nsp?: string; id?: number };
    opts?: EncodedBroadcastOptions;
    requestId?: string;
  };
}

export interface RestoredSession {
  sid: string;
  pid: string;
  rooms: string[];
  data: unknown;
  missedPackets: unknown[][];
}

export interface StreamAdapter {
  readonly uid: string;
  readonly nsp: { name: string };
  /** XADDs the message (MAXLEN ~ maxLen) and resolves with its stream id. */
  doPublish(message: ClusterMessage): Promise<string>;
  /** Called by the adapter's XREAD loop for each stream entry of this namespace. */
  onRawMessage(raw: Record<string, string>, offset: string): void;
  onMessage(message: ClusterMessage, offset?: string): void;
  restoreSession(pid: string, offset: string): Promise<RestoredSession | undefined>;
}

export function streamAdapterOf(io: Server): StreamAdapter {
  const adapter = io.of("/").adapter as unknown as Partial<StreamAdapter>;
  for (const member of ["doPublish", "onRawMessage", "onMessage", "restoreSession"] as const) {
    if (typeof adapter[member] !== "function") throw new Error(`the Socket.IO adapter has no ${member}(): the Redis Streams adapter is required`);
  }
  return adapter as StreamAdapter;
}

/**
 * Writes an event packet straight to one socket: no stream entry, never
 * replayed. (With connection state recovery on, `socket.emit` goes through
 * the adapter and the stream, asynchronously; this is the path Socket.IO
 * itself uses for a recovered socket's missed packets.)
 */
export function writeDirect(socket: Socket, data: unknown[]): void {
  (socket as unknown as { packet(packet: { type: number; data: unknown[] }): void }).packet({ type: EVENT_PACKET, data });
}
