/** Ingest: validates uploads, stores originals, creates Assets, queues AI jobs. Wiring only. */
import { openAssetStore } from "@pipeline/assets";
import { connectAssetsDatabase } from "@pipeline/assets/connect";
import { aiJobSettings, ClientEvents, openQueue, WEBHOOK_QUEUE } from "@pipeline/messaging";
import { internalSecret } from "@pipeline/runtime/auth";
import { loadConfig } from "@pipeline/runtime/config";
import { exitOnStartupError, handleShutdown } from "@pipeline/runtime/lifecycle";
import { createLogger } from "@pipeline/runtime/logger";
import { createMetrics } from "@pipeline/runtime/metrics";
import { countMongoCommands, createIndexesInBackground, mongoIsUp } from "@pipeline/runtime/mongo";
import { redisConnection, redisIsUp } from "@pipeline/runtime/redis";
import { initTracing, shutdownTracing } from "@pipeline/runtime/tracing";
import { createStorage } from "@pipeline/storage";
import { openWebhookStore, WebhookOwners } from "@pipeline/webhooks";
import { createIngestApp } from "./app.ts";
import { ingestConfigSchema } from "./config.ts";
import { IdempotentUploads } from "./idempotency.ts";
import { AiJobProducer } from "./queue.ts";
import { queueMetrics } from "./queue-metrics.ts";
import { AssetRemoval } from "./services/asset-removal.ts";
import { AssetsService } from "./services/assets-service.ts";
import { JobsService } from "./services/jobs-service.ts";
import { ReanalysisService } from "./services/reanalysis-service.ts";
import { WebhooksService } from "./services/webhooks-service.ts";
import { sweepStrandedAssets } from "./stranded-assets.ts";

const logger = createLogger("ingest");
try {
  const config = loadConfig(ingestConfigSchema);
  await initTracing("ingest");
  logger.level = config.LOG_LEVEL;
  const storage = createStorage(config);
  const mongo = await connectAssetsDatabase(config.MONGO_URL, logger, config.MONGO_DIALECT);
  const repository = openAssetStore(mongo);
  const webhookRepository = openWebhookStore(mongo, { retentionDays: config.WEBHOOK_DELIVERY_RETENTION_DAYS });
  // Beside serving: a long build on a large collection holds up neither this replica nor the others.
  void createIndexesInBackground(logger, { assets: () => repository.syncIndexes(), webhooks: () => webhookRepository.syncIndexes() });
  void repository
    .pendingMigration()
    .then((pending) => pending && logger.warn({ dialect: mongo.dialect }, pending))
    .catch(() => undefined);
  const redis = redisConnection(config, "producer");
  redis.on("error", (error) => logger.warn({ err: error.message }, "redis error"));
  const producer = new AiJobProducer(redis, config.QUEUE_PREFIX, aiJobSettings(config), storage.plainHttpBase);
  const assetsService = new AssetsService(repository, storage, producer, logger);
  const events = new ClientEvents(redis, config.QUEUE_PREFIX);
  const metrics = createMetrics("ingest");
  countMongoCommands(mongo, metrics);
  // The notifier delivers webhooks; ingest holds that queue for its backlog (/metrics) and the admin routes.
  const webhookQueue = openQueue(WEBHOOK_QUEUE, redis, config.QUEUE_PREFIX);
  // What operators see and control (/api/admin/queues and the dashboard at /admin/queues).
  const pipelineQueues = [producer.queue, events.queue, webhookQueue];
  queueMetrics(metrics, pipelineQueues);
  const removal = new AssetRemoval({
    repository,
    storage,
    producer,
    markers: events.deletions,
    events,
    logger,
  });

  let server: ReturnType<typeof Bun.serve> | undefined;
  const strandedSweep = sweepStrandedAssets({
    repository,
    producer,
    redis,
    prefix: config.QUEUE_PREFIX,
    logger,
    intervalMs: config.SWEEP_INTERVAL_MS,
    staleAfterMs: config.SWEEP_STALE_AFTER_MS,
  });
  const { isShuttingDown } = handleShutdown(logger, config.SHUTDOWN_TIMEOUT_MS, [
    { name: "http", close: () => server?.stop(false) },
    { name: "stranded-asset sweep", close: () => strandedSweep.stop() },
    { name: "queue", close: () => producer.close() },
    { name: "events", close: () => events.close() },
    { name: "webhook queue", close: () => webhookQueue.close() },
    { name: "redis", close: () => redis.quit() },
    { name: "tracing", close: () => shutdownTracing() },
    { name: "mongo", close: () => mongo.mongoose.close() },
  ]);
  const app = createIngestApp({
    logger,
    metrics,
    assets: assetsService,
    removal,
    idempotency: new IdempotentUploads(redis, { prefix: config.QUEUE_PREFIX }),
    jobs: new JobsService(producer, assetsService, pipelineQueues),
    reanalysis: new ReanalysisService({ repository, producer, assets: assetsService, logger }),
    queues: pipelineQueues,
    webhooks: new WebhooksService(webhookRepository, { allowPrivate: config.WEBHOOK_ALLOW_PRIVATE }, logger, new WebhookOwners(redis, config.QUEUE_PREFIX)),
    internalSecret: await internalSecret(config.JWT_SECRET, config.INTERNAL_SECRET),
    maxImageBytes: config.MAX_IMAGE_BYTES,
    readiness: { mongo: () => mongoIsUp(mongo), redis: () => redisIsUp(redis) },
    isShuttingDown,
  });
  // The body limit of the multipart upload: the image plus room for the form's other parts.
  // Idle timeout above the gateway's upstream timeout (30 s), so a slow answer is the gateway's to time out, never a reset.
  server = Bun.serve({ port: config.PORT, fetch: app.fetch, maxRequestBodySize: config.MAX_IMAGE_BYTES + 1024 * 1024, idleTimeout: 120 });
  strandedSweep.start();
  logger.info({ port: server.port }, "ingest listening");
} catch (error) {
  exitOnStartupError(logger, error);
}
