/**
 * Messaging: how the services talk through Redis. Queue names and options
 * (queues.ts), the AI job's settings (config.ts), id schemes (ids.ts), the
 * worker lifecycle (worker.ts), client events (client-events.ts) and the
 * sockets' stream writer with its markers (stream.ts, markers.ts).
 */
export * from "./client-events.ts";
export * from "./config.ts";
export * from "./fair-share.ts";
export * from "./ids.ts";
export * from "./markers.ts";
export * from "./queues.ts";
export * from "./stream.ts";
export * from "./worker.ts";
