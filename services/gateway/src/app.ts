/** The public edge: health, metrics, media, and the authenticated, rate-limited /api forwarded to ingest. */
import { HttpError, healthRoutes, jsonErrors, type ReadinessCheck, requestLog } from "@pipeline/runtime/http";
import type { Logger } from "@pipeline/runtime/logger";
import { httpMetrics, metricsRoute } from "@pipeline/runtime/metrics";
import type { LocalStorage } from "@pipeline/storage";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import type { Redis } from "ioredis";
import type { Registry } from "prom-client";
import { authenticate, type GatewayEnv } from "./middleware/auth.ts";
import { rateLimit } from "./middleware/rate-limit.ts";
import { mediaRoutes } from "./routes/media.ts";
import { openApiRoutes } from "./routes/openapi.ts";
import { forwardToIngest } from "./routes/proxy.ts";

export interface GatewayDeps {
  logger: Logger;
  metrics: Registry;
  redis: Redis;
  localStorage: LocalStorage | null;
  jwtSecret: string;
  internalSecret: string;
  ingestUrl: string;
  upstreamTimeoutMs: number;
  rateLimitPerMinute: number;
  keyPrefix: string;
  maxBodyBytes: number;
  readiness: Record<string, ReadinessCheck>;
  isShuttingDown: () => boolean;
}

export function createGatewayApp(deps: GatewayDeps) {
  const app = new Hono<GatewayEnv>();
  app.use(requestId(), requestLog(deps.logger), httpMetrics(deps.metrics));
  jsonErrors(app, deps.logger);
  healthRoutes(app, deps.readiness, deps.isShuttingDown);
  metricsRoute(app, deps.metrics);
  app.route("/", openApiRoutes());
  if (deps.localStorage) app.route("/media", mediaRoutes(deps.localStorage));
  app.use(
    "/api/*",
    authenticate(deps.jwtSecret),
    rateLimit(deps.redis, { perMinute: deps.rateLimitPerMinute, keyPrefix: deps.keyPrefix, logger: deps.logger }),
    bodyLimit({
      maxSize: deps.maxBodyBytes,
      onError: () => {
        throw new HttpError(413, "payload_too_large", `request body is larger than ${deps.maxBodyBytes} bytes`);
      },
    }),
  );
  app.all("/api/*", forwardToIngest({ ingestUrl: deps.ingestUrl, internalSecret: deps.internalSecret, timeoutMs: deps.upstreamTimeoutMs }));
  return app;
}
