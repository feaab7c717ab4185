/** Notifier: delivers client events to sockets (Socket.IO) and webhooks. Wiring only. */

import { outcomeLock, SocketStreamWriter } from "@pipeline/messaging";
import { loadConfig } from "@pipeline/runtime/config";
import { healthRoutes } from "@pipeline/runtime/http";
import { exitOnStartupError, handleShutdown } from "@pipeline/runtime/lifecycle";
import { createLogger } from "@pipeline/runtime/logger";
import { createMetrics, metricsRoute } from "@pipeline/runtime/metrics";
import { connectMongo, countMongoCommands, createIndexesInBackground, mongoIsUp } from "@pipeline/runtime/mongo";
import { redisConnection, redisIsUp } from "@pipeline/runtime/redis";
import { socketStreamName } from "@pipeline/runtime/socket-stream";
import { initTracing, shutdownTracing } from "@pipeline/runtime/tracing";
import { openWebhookStore } from "@pipeline/webhooks";
import { Hono } from "hono";
import { notifierConfigSchema } from "./config.ts";
import { connectedSocketsGauge, notifierMetrics } from "./metrics.ts";
import { consumeOutcomes } from "./outcomes-consumer.ts";
import { createSocketServer } from "./socket-server.ts";
import { createWebhookWorker } from "./webhooks/worker.ts";

const logger = createLogger("notifier");
try {
  const config = loadConfig(notifierConfigSchema);
  await initTracing("notifier");
  logger.level = config.LOG_LEVEL;
  // The adapter duplicates this one for its blocking XREAD; BullMQ blocks too, so it gets its own.
  const adapterRedis = redisConnection(config, "worker");
  const queueRedis = redisConnection(config, "worker");
  for (const client of [adapterRedis, queueRedis]) client.on("error", (error) => logger.warn({ err: error.message }, "redis error"));
  const registry = createMetrics("notifier");
  const metrics = notifierMetrics(registry);
  const mongo = await connectMongo(config.MONGO_URL, logger, config.MONGO_DIALECT);
  countMongoCommands(mongo, registry);
  const webhookRepository = openWebhookStore(mongo, { retentionDays: config.WEBHOOK_DELIVERY_RETENTION_DAYS });
  void createIndexesInBackground(logger, { webhooks: () => webhookRepository.syncIndexes() });
  const stopExpiringDeliveries = webhookRepository.expireDeliveries(logger);
  const webhooks = createWebhookWorker({
    connection: queueRedis,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.WEBHOOK_CONCURRENCY,
    repository: webhookRepository,
    policy: { allowPrivate: config.WEBHOOK_ALLOW_PRIVATE },
    delivery: { attempts: config.WEBHOOK_ATTEMPTS, backoffMs: config.WEBHOOK_BACKOFF_MS },
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    disableAfterMs: config.WEBHOOK_DISABLE_AFTER_MS,
    metrics,
    logger,
  });
  const sockets = createSocketServer({
    redis: adapterRedis,
    jwtSecret: config.JWT_SECRET,
    streamName: socketStreamName(config.QUEUE_PREFIX),
    streamMaxLen: config.STREAM_MAX_LEN,
    recoveryWindowMs: config.RECOVERY_WINDOW_MS,
    pingIntervalMs: config.PING_INTERVAL_MS,
    pingTimeoutMs: config.PING_TIMEOUT_MS,
    corsOrigin: config.CORS_ORIGIN,
    logger,
    metrics,
  });
  const { io, engine } = sockets;
  connectedSocketsGauge(registry, io);
  const consumer = consumeOutcomes({
    stream: new SocketStreamWriter(queueRedis, { prefix: config.QUEUE_PREFIX, maxLen: config.STREAM_MAX_LEN }),
    onEmitted: webhooks.onEmitted,
    connection: queueRedis,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.OUTCOME_CONCURRENCY,
    lock: outcomeLock(config.OUTCOME_LOCK_MS),
    logger,
    metrics,
  });

  let server: ReturnType<typeof Bun.serve> | undefined;
  const { isShuttingDown } = handleShutdown(logger, config.SHUTDOWN_TIMEOUT_MS, [
    // Stop taking outcomes first (those in hand finish, the rest stay queued for another replica),
    // then close sockets (their sessions are kept in Redis so they resume on any replica).
    { name: "outcomes", close: () => consumer.close(config.SHUTDOWN_TIMEOUT_MS / 2) },
    // Deliveries still in flight after half the deadline are handed back to the queue.
    { name: "webhooks", close: () => webhooks.close(config.SHUTDOWN_TIMEOUT_MS / 2) },
    { name: "delivery expiry", close: () => stopExpiringDeliveries() },
    { name: "sockets", close: () => io.close() },
    { name: "http", close: () => server?.stop(true) },
    { name: "redis", close: () => Promise.all([adapterRedis.quit(), queueRedis.quit()]) },
    { name: "tracing", close: () => shutdownTracing() },
    { name: "mongo", close: () => mongo.client.close() },
  ]);
  const app = new Hono<{ Bindings: Bun.Server<unknown> }>();
  healthRoutes(
    app,
    {
      redis: () => redisIsUp(queueRedis),
      outcomes: async () => consumer.isRunning(),
      mongo: () => mongoIsUp(mongo),
      webhooks: async () => webhooks.isRunning(),
    },
    isShuttingDown,
  );
  metricsRoute(app, registry);
  app.get("/metrics/sockets", (c) => c.json({ sockets: io.of("/").sockets.size }));
  app.all("/socket.io/*", (c) => engine.handleRequest(c.req.raw, c.env));
  await sockets.start();
  const handler = engine.handler();
  server = Bun.serve({ ...handler, port: config.PORT, fetch: (request, bunServer) => app.fetch(request, bunServer) });
  consumer.start();
  webhooks.start();
  logger.info({ port: server.port }, "notifier listening");
} catch (error) {
  exitOnStartupError(logger, error);
}
