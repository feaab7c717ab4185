/** Notifier: Socket.IO delivery of `asset_processed`. Wiring only. */
import { counter, createLogger, createMetrics, exitOnStartupError, handleShutdown, healthRoutes, loadConfig, metricsRoute, redisConnection } from "@pipeline/contracts";
import { Hono } from "hono";
import { notifierConfigSchema } from "./config.ts";
import { consumeOutcomes } from "./outcomes-consumer.ts";
import { createSocketServer } from "./socket-server.ts";

const logger = createLogger("notifier");
try {
  const config = loadConfig(notifierConfigSchema);
  logger.level = config.LOG_LEVEL;
  // The adapter blocks on XREAD, so it gets a connection of its own.
  const adapterRedis = redisConnection(config.REDIS_URL, "worker");
  const queueRedis = redisConnection(config.REDIS_URL, "worker");
  for (const client of [adapterRedis, queueRedis]) client.on("error", (error) => logger.warn({ err: error.message }, "redis error"));
  const registry = createMetrics("notifier");
  const { io, engine } = createSocketServer({
    redis: adapterRedis,
    jwtSecret: config.JWT_SECRET,
    streamName: `${config.QUEUE_PREFIX}:socket.io`,
    streamMaxLen: config.STREAM_MAX_LEN,
    recoveryWindowMs: config.RECOVERY_WINDOW_MS,
    corsOrigin: config.CORS_ORIGIN,
    logger,
  });
  const consumer = consumeOutcomes({
    io,
    connection: queueRedis,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.OUTCOME_CONCURRENCY,
    logger,
    delivered: counter(registry, "asset_processed_emitted_total", "asset_processed events broadcast, by status", ["status"]),
  });

  let server: ReturnType<typeof Bun.serve> | undefined;
  const { isShuttingDown } = handleShutdown(logger, config.SHUTDOWN_TIMEOUT_MS, [
    // Stop taking outcomes first (unfinished ones go back to the queue for another replica), then close sockets.
    { name: "outcomes", close: () => consumer.close() },
    { name: "sockets", close: () => io.close() },
    { name: "http", close: () => server?.stop(true) },
    { name: "redis", close: () => Promise.all([adapterRedis.quit(), queueRedis.quit()]) },
  ]);
  const app = new Hono<{ Bindings: Bun.Server<unknown> }>();
  healthRoutes(
    app,
    { redis: async () => (await queueRedis.ping()) === "PONG", outcomes: async () => consumer.isRunning() },
    isShuttingDown,
  );
  metricsRoute(app, registry);
  app.get("/metrics/sockets", (c) => c.json({ sockets: io.engine.clientsCount }));
  app.all("/socket.io/*", (c) => engine.handleRequest(c.req.raw, c.env));
  const handler = engine.handler();
  server = Bun.serve({ ...handler, port: config.PORT, fetch: (request, bunServer) => app.fetch(request, bunServer) });
  void consumer.run();
  logger.info({ port: server.port }, "notifier listening");
} catch (error) {
  exitOnStartupError(logger, error);
}
