/**
 * The Socket.IO Redis Streams adapter's stream, as an external emitter writes
 * to it (the writer, with the pipeline's markers, is @pipeline/messaging's
 * stream.ts): its name and the wire constants of its entries.
 */

/** Socket.IO wire constants (socket.io-adapter's MessageType.BROADCAST, socket.io-parser's PacketType.EVENT). */
export const BROADCAST_MESSAGE = 3;
export const EVENT_PACKET = 2;
/** The uid that external emitters use: every replica, the writing one included, delivers such a message from the stream. */
export const EMITTER_UID = "emitter";

/** The adapter's stream of a deployment (its sessions and pub/sub channels are named after it too). */
export const socketStreamName = (prefix: string) => `${prefix}:socket.io`;
