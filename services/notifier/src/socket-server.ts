/**
 * Socket.IO on Bun's own server (@socket.io/bun-engine), shared between
 * replicas by the Redis Streams adapter, with connection state recovery.
 * Sockets join `user:<sub>` on the server side; there is no way for a client
 * to join any other room (the server handles no client events at all).
 */
import { type ClientToServerEvents, roomOf, type ServerToClientEvents } from "@pipeline/contracts/events";
import { parseCorsOrigins } from "@pipeline/runtime/http";
import type { Logger } from "@pipeline/runtime/logger";
import type { RedisClient } from "@pipeline/runtime/redis";
import { Server as Engine } from "@socket.io/bun-engine";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { Server } from "socket.io";
import { authenticateSocket, disconnectAtExpiry, type SocketData } from "./handshake.ts";
import type { NotifierMetrics } from "./metrics.ts";
import { SessionRecovery } from "./session-recovery.ts";
import { streamAdapterOf } from "./stream-adapter.ts";

export interface SocketServerOptions {
  /** For publishing (XADD, sessions); the adapter duplicates it for its blocking reader. */
  redis: RedisClient;
  jwtSecret: string;
  /** The adapter's stream; its sessions and pub/sub channels are named after it too. */
  streamName: string;
  streamMaxLen: number;
  recoveryWindowMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /** CORS_ORIGIN: comma-separated origins, or *; undefined sends no CORS headers. */
  corsOrigin?: string | undefined;
  logger: Logger;
  metrics: NotifierMetrics;
}

export function createSocketServer(options: SocketServerOptions) {
  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>({
    adapter: createAdapter(options.redis, {
      streamName: options.streamName,
      maxLen: options.streamMaxLen,
      // Keep every key and channel under the deployment's prefix (the defaults are global).
      sessionKeyPrefix: `${options.streamName}:session:`,
      channelPrefix: options.streamName,
      onlyPlaintext: true,
    }),
    // skipMiddlewares false: a resumed session is authenticated again with the token it presents.
    connectionStateRecovery: { maxDisconnectionDuration: options.recoveryWindowMs, skipMiddlewares: false },
  });
  const engine = new Engine({
    path: "/socket.io/",
    pingInterval: options.pingIntervalMs,
    pingTimeout: options.pingTimeoutMs,
    ...(options.corsOrigin ? { cors: { origin: parseCorsOrigins(options.corsOrigin) } } : {}),
  });
  io.bind(engine);

  const adapter = streamAdapterOf(io);
  const recovery = new SessionRecovery(adapter, { logger: options.logger });

  io.use(authenticateSocket(options.jwtSecret));
  // The last middleware: rooms, replay and the session event are written before Socket.IO's CONNECT
  // packet (the client emits them right after "connect"), so even a socket that drops at once has an offset.
  io.use((socket, next) => {
    const { user } = socket.data as SocketData;
    // A recovered socket has its rooms back from the session; a new one joins its user's room.
    if (!socket.recovered) socket.join(roomOf(user.userId));
    const replayed = recovery.welcome(socket, { userId: user.userId, expiresAt: new Date(user.exp * 1000).toISOString() });
    options.metrics.connections.inc({ recovered: String(socket.recovered) });
    if (replayed) options.metrics.replayed.inc(replayed);
    options.logger.debug(
      { socketId: socket.id, userId: user.userId, recovered: socket.recovered, replayed, transport: socket.conn.transport.name },
      "socket admitted",
    );
    next();
  });
  io.on("connection", (socket) => disconnectAtExpiry(socket, (socket.data as SocketData).user));

  return {
    io,
    engine,
    /** To await before accepting connections. */
    start: () => recovery.start(options.redis, options.streamName, options.streamMaxLen),
  };
}
