/** ai-worker: consumes `ai-processing`. Wiring only; health and metrics on PORT. */

import { openAssetStore } from "@pipeline/assets";
import { connectAssetsDatabase } from "@pipeline/assets/connect";
import { ClientEvents } from "@pipeline/messaging";
import { loadConfig } from "@pipeline/runtime/config";
import { healthRoutes } from "@pipeline/runtime/http";
import { exitOnStartupError, handleShutdown } from "@pipeline/runtime/lifecycle";
import { createLogger } from "@pipeline/runtime/logger";
import { createMetrics, metricsRoute } from "@pipeline/runtime/metrics";
import { countMongoCommands, mongoIsUp } from "@pipeline/runtime/mongo";
import { redisConnection, redisIsUp } from "@pipeline/runtime/redis";
import { initTracing, shutdownTracing } from "@pipeline/runtime/tracing";
import { createStorage } from "@pipeline/storage";
import { Hono } from "hono";
import { workerConcurrency, workerConfigSchema } from "./config.ts";
import { WorkerMetrics } from "./metrics.ts";
import { progressReporter } from "./progress.ts";
import { createProviders } from "./providers-factory.ts";
import { createAiWorker } from "./worker.ts";

const logger = createLogger("ai-worker");
try {
  const config = loadConfig(workerConfigSchema);
  const concurrency = workerConcurrency(config);
  await initTracing("ai-worker");
  logger.level = config.LOG_LEVEL;
  const storage = createStorage(config);
  const { remover, analyzer, vision } = createProviders(config, storage, logger);
  const mongo = await connectAssetsDatabase(config.MONGO_URL, logger, config.MONGO_DIALECT);
  const redis = redisConnection(config, "worker");
  redis.on("error", (error) => logger.warn({ err: error.message }, "redis error"));
  const registry = createMetrics("ai-worker");
  countMongoCommands(mongo, registry);
  const events = new ClientEvents(redis, config.QUEUE_PREFIX);
  const metrics = new WorkerMetrics(registry);
  const aiWorker = createAiWorker(
    {
      connection: redis,
      prefix: config.QUEUE_PREFIX,
      concurrency,
      lock: { durationMs: config.WORKER_LOCK_MS, stalledIntervalMs: config.WORKER_STALLED_INTERVAL_MS, maxStalledCount: config.WORKER_MAX_STALLED_COUNT },
    },
    {
      repository: openAssetStore(mongo),
      storage,
      remover,
      analyzer,
      events,
      progress: progressReporter(events),
      metrics,
      logger,
      timeoutMs: config.JOB_TIMEOUT_MS,
      ...(storage.plainHttpBase ? { plainHttpBase: storage.plainHttpBase } : {}),
    },
  );

  let server: ReturnType<typeof Bun.serve> | undefined;
  const { isShuttingDown } = handleShutdown(logger, config.SHUTDOWN_TIMEOUT_MS, [
    // Leave a quarter of the deadline to hand jobs back and close connections.
    { name: "worker", close: () => aiWorker.close(Math.floor(config.SHUTDOWN_TIMEOUT_MS * 0.75)) },
    { name: "events", close: () => events.close() },
    // After the worker: the jobs it let finish have had their image work done.
    { name: "vision", close: () => vision?.close() },
    { name: "http", close: () => server?.stop(true) },
    { name: "redis", close: () => redis.quit() },
    { name: "tracing", close: () => shutdownTracing() },
    { name: "mongo", close: () => mongo.mongoose.close() },
  ]);
  const app = new Hono();
  healthRoutes(app, { mongo: () => mongoIsUp(mongo), redis: () => redisIsUp(redis), worker: async () => aiWorker.isRunning() }, isShuttingDown);
  metricsRoute(app, registry);
  server = Bun.serve({ port: config.PORT, fetch: app.fetch });
  aiWorker.start();
  logger.info({ port: server.port, concurrency, visionThreads: vision?.threads ?? 0, remover: remover.name, analyzer: analyzer.name }, "ai-worker started");
} catch (error) {
  exitOnStartupError(logger, error);
}
