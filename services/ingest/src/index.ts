/** Ingest: validates uploads, stores originals, creates Assets, queues AI jobs. Wiring only. */
import { AssetRepository, assetModel } from "@pipeline/assets";
import { internalSecret } from "@pipeline/runtime/auth";
import { loadConfig } from "@pipeline/runtime/config";
import { exitOnStartupError, handleShutdown } from "@pipeline/runtime/lifecycle";
import { createLogger } from "@pipeline/runtime/logger";
import { createMetrics } from "@pipeline/runtime/metrics";
import { connectMongo, mongoIsUp } from "@pipeline/runtime/mongo";
import { redisConnection, redisIsUp } from "@pipeline/runtime/redis";
import { createStorage } from "@pipeline/storage";
import { createIngestApp } from "./app.ts";
import { ingestConfigSchema } from "./config.ts";
import { AiJobProducer } from "./queue.ts";
import { AssetsService } from "./services/assets-service.ts";
import { JobsService } from "./services/jobs-service.ts";

const logger = createLogger("ingest");
try {
  const config = loadConfig(ingestConfigSchema);
  logger.level = config.LOG_LEVEL;
  const storage = createStorage(config);
  const mongo = await connectMongo(config.MONGO_URL, logger);
  const assets = assetModel(mongo);
  await assets.init();
  const redis = redisConnection(config.REDIS_URL, "producer");
  redis.on("error", (error) => logger.warn({ err: error.message }, "redis error"));
  const producer = new AiJobProducer(redis, config.QUEUE_PREFIX, config, storage.plainHttpBase);
  const assetsService = new AssetsService(new AssetRepository(assets), storage, producer, logger);

  let server: ReturnType<typeof Bun.serve> | undefined;
  const { isShuttingDown } = handleShutdown(logger, config.SHUTDOWN_TIMEOUT_MS, [
    { name: "http", close: () => server?.stop(false) },
    { name: "queue", close: () => producer.close() },
    { name: "redis", close: () => redis.quit() },
    { name: "mongo", close: () => mongo.close() },
  ]);
  const app = createIngestApp({
    logger,
    metrics: createMetrics("ingest"),
    assets: assetsService,
    jobs: new JobsService(producer, assetsService),
    internalSecret: await internalSecret(config.JWT_SECRET, config.INTERNAL_SECRET),
    maxImageBytes: config.MAX_IMAGE_BYTES,
    readiness: { mongo: () => mongoIsUp(mongo), redis: () => redisIsUp(redis) },
    isShuttingDown,
  });
  // The body limit of the multipart upload: the image plus room for the form's other parts.
  // Idle timeout above the gateway's upstream timeout (30 s), so a slow answer is the gateway's to time out, never a reset.
  server = Bun.serve({ port: config.PORT, fetch: app.fetch, maxRequestBodySize: config.MAX_IMAGE_BYTES + 1024 * 1024, idleTimeout: 120 });
  logger.info({ port: server.port }, "ingest listening");
} catch (error) {
  exitOnStartupError(logger, error);
}
