/** Gateway: the public HTTP edge. Wiring only. */

import { internalSecret } from "@pipeline/runtime/auth";
import { loadConfig } from "@pipeline/runtime/config";
import { exitOnStartupError, handleShutdown } from "@pipeline/runtime/lifecycle";
import { createLogger } from "@pipeline/runtime/logger";
import { createMetrics } from "@pipeline/runtime/metrics";
import { redisConnection, redisIsUp } from "@pipeline/runtime/redis";
import { initTracing, shutdownTracing } from "@pipeline/runtime/tracing";
import { createStorage, LocalStorage } from "@pipeline/storage";
import { createGatewayApp } from "./app.ts";
import { gatewayConfigSchema } from "./config.ts";
import { NotifierPool } from "./notifier-pool.ts";
import { defaultNotifierPublicUrl } from "./routes/web.ts";
import { createSocketProxy, type ProxiedSocket } from "./socket-proxy.ts";

const logger = createLogger("gateway");
try {
  const config = loadConfig(gatewayConfigSchema);
  await initTracing("gateway");
  logger.level = config.LOG_LEVEL;
  const storage = createStorage(config);
  const redis = redisConnection(config, "producer");
  redis.on("error", (error) => logger.warn({ err: error.message }, "redis error"));
  const ingestReady = async () => (await fetch(`${config.INGEST_URL}/readyz`, { signal: AbortSignal.timeout(2000) })).ok;

  const socketProxy = config.NOTIFIER_URL ? createSocketProxy({ pool: new NotifierPool({ urls: config.NOTIFIER_URL }), logger }) : undefined;

  let server: ReturnType<typeof Bun.serve<ProxiedSocket>> | undefined;
  const { isShuttingDown } = handleShutdown(logger, config.SHUTDOWN_TIMEOUT_MS, [
    { name: "http", close: () => server?.stop(false) },
    { name: "sockets", close: () => socketProxy?.closeAll() },
    { name: "redis", close: () => redis.quit() },
    { name: "tracing", close: () => shutdownTracing() },
  ]);
  const notifierPublicUrl = config.NOTIFIER_PUBLIC_URL ?? defaultNotifierPublicUrl(config.PUBLIC_URL, Boolean(config.NOTIFIER_URL));
  const app = createGatewayApp({
    logger,
    metrics: createMetrics("gateway"),
    redis,
    localStorage: storage instanceof LocalStorage ? storage : null,
    jwtSecret: config.JWT_SECRET,
    internalSecret: await internalSecret(config.JWT_SECRET, config.INTERNAL_SECRET),
    ingestUrl: config.INGEST_URL,
    upstreamTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    uploadRateLimitPerMinute: config.UPLOAD_RATE_LIMIT_PER_MINUTE,
    ipRateLimitPerMinute: config.IP_RATE_LIMIT_PER_MINUTE,
    trustProxyHops: config.TRUST_PROXY_HOPS,
    keyPrefix: config.QUEUE_PREFIX,
    maxBodyBytes: config.MAX_BODY_BYTES,
    corsOrigin: config.CORS_ORIGIN,
    notifierPublicUrl,
    readiness: { ingest: ingestReady, redis: () => redisIsUp(redis) },
    isShuttingDown,
    web: {
      publicUrl: config.PUBLIC_URL,
      notifierPublicUrl,
      devLogin: config.DEV_LOGIN,
    },
  });
  server = Bun.serve<ProxiedSocket>({
    port: config.PORT,
    // /socket.io/ to the notifiers (when NOTIFIER_URL is set), everything else to the app.
    fetch: (request, bunServer) => (socketProxy?.handles(request) ? socketProxy.fetch(request, bunServer) : app.fetch(request, bunServer)),
    // Without the proxy nothing is ever upgraded: the handler is there only because Bun.serve's type wants one.
    websocket: socketProxy?.websocket ?? { message: () => undefined },
    // Bun's own backstop, past the app's MAX_BODY_BYTES (which answers the JSON 413 first): a body beyond it is cut
    // by Bun itself, chunked or not, so no code path can be made to read an unbounded body.
    maxRequestBodySize: config.MAX_BODY_BYTES + 1024 * 1024,
    // Idle keep-alive connections, and slow headers after a connection's first request, close after this (the first
    // request's headers have Bun's fixed 10 s; headers over 16 KiB are Bun's 431). A forwarded API request gets
    // UPSTREAM_TIMEOUT_MS instead, from the proxy (server.timeout()).
    idleTimeout: config.IDLE_TIMEOUT_S,
  });
  logger.info({ port: server.port, ingest: config.INGEST_URL, notifiers: config.NOTIFIER_URL ?? null }, "gateway listening");
  if (config.DEV_LOGIN) logger.warn("DEV_LOGIN is on: POST /api/dev/token gives anyone a demo user's token (development only)");
} catch (error) {
  exitOnStartupError(logger, error);
}
