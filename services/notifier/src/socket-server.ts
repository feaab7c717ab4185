/**
 * Socket.IO on Bun's own server (@socket.io/bun-engine), shared between
 * replicas by the Redis Streams adapter, with connection state recovery.
 * Sockets join `user:<sub>` on the server side; there is no way for a client
 * to join any other room.
 */
import type { Logger } from "@pipeline/contracts";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { Server as Engine } from "@socket.io/bun-engine";
import type { Redis } from "ioredis";
import { Server } from "socket.io";
import { type SocketData, authenticateSocket, disconnectAtExpiry, roomOf } from "./handshake.ts";

export interface SocketServerOptions {
  redis: Redis;
  jwtSecret: string;
  streamName: string;
  streamMaxLen: number;
  recoveryWindowMs: number;
  corsOrigin: string;
  logger: Logger;
}

export function createSocketServer(options: SocketServerOptions) {
  const io = new Server({
    adapter: createAdapter(options.redis, { streamName: options.streamName, maxLen: options.streamMaxLen }),
    connectionStateRecovery: { maxDisconnectionDuration: options.recoveryWindowMs, skipMiddlewares: false },
  });
  const engine = new Engine({
    path: "/socket.io/",
    cors: { origin: options.corsOrigin === "*" ? "*" : options.corsOrigin.split(",").map((origin) => origin.trim()) },
  });
  io.bind(engine);

  io.use(authenticateSocket(options.jwtSecret));
  io.on("connection", (socket) => {
    const { user } = socket.data as SocketData;
    // A recovered socket gets its rooms back from the adapter; a new one joins its user's room.
    if (!socket.recovered) socket.join(roomOf(user.userId));
    disconnectAtExpiry(socket, user);
    options.logger.debug({ socketId: socket.id, userId: user.userId, recovered: socket.recovered }, "socket connected");
  });
  return { io, engine };
}
