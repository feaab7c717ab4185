/**
 * Broadcasts an event to a room by writing it to the adapter's Redis stream
 * as an external emitter would (uid "emitter"). Every replica, including
 * this one, then delivers it from its stream reader, so each socket receives
 * events in stream order (its recovery offset only moves forward), and the
 * returned promise settles only once the entry is in Redis (a failed write
 * fails the outcome job, which BullMQ retries, instead of being dropped).
 */
import { BROADCAST_MESSAGE, EMITTER_UID, EVENT_PACKET, type StreamAdapter } from "./stream-adapter.ts";

export type RoomBroadcast = (room: string, event: string, ...args: unknown[]) => Promise<string>;

export function streamBroadcaster(adapter: StreamAdapter): RoomBroadcast {
  const nsp = adapter.nsp.name;
  return (room, event, ...args) =>
    adapter.doPublish({
      uid: EMITTER_UID,
      nsp,
      type: BROADCAST_MESSAGE,
      data: { packet: { type: EVENT_PACKET, data: [event, ...args], nsp }, opts: { rooms: [room], except: [], flags: {} } },
    });
}
