/** The public edge: CORS, health, metrics, media, the API documents and reference, and the authenticated, rate-limited /api forwarded to ingest. */
import { HttpError, healthRoutes, jsonErrors, parseCorsOrigins, type ReadinessCheck, requestLog } from "@pipeline/runtime/http";
import type { Logger } from "@pipeline/runtime/logger";
import { httpMetrics, metricsRoute } from "@pipeline/runtime/metrics";
import type { LocalStorage } from "@pipeline/storage";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import type { Redis } from "ioredis";
import type { Registry } from "prom-client";
import { authenticate, type GatewayEnv } from "./middleware/auth.ts";
import { rateLimit } from "./middleware/rate-limit.ts";
import { docsRoutes } from "./routes/docs.ts";
import { mediaRoutes } from "./routes/media.ts";
import { openApiRoutes } from "./routes/openapi.ts";
import { forwardToIngest } from "./routes/proxy.ts";
import { type WebPageOptions, webRoutes } from "./routes/web.ts";

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
  /** CORS_ORIGIN: comma-separated origins, or *; undefined sends no CORS headers. */
  corsOrigin?: string | undefined;
  /** The notifier's public URL, for the AsyncAPI document. */
  notifierPublicUrl: string;
  readiness: Record<string, ReadinessCheck>;
  isShuttingDown: () => boolean;
  /** The web page at `/` (and `POST /api/dev/token` when DEV_LOGIN is on); none when absent. */
  web?: WebPageOptions;
}

export function createGatewayApp(deps: GatewayDeps) {
  const app = new Hono<GatewayEnv>();
  app.use(requestId(), requestLog(deps.logger), httpMetrics(deps.metrics));
  // Before authentication, so a preflight (OPTIONS, never with a token) is answered 204 with the headers.
  if (deps.corsOrigin) app.use(corsFor(deps.corsOrigin));
  jsonErrors(app, deps.logger);
  healthRoutes(app, deps.readiness, deps.isShuttingDown);
  metricsRoute(app, deps.metrics);
  const documents = openApiRoutes({ ingestUrl: deps.ingestUrl, notifierPublicUrl: deps.notifierPublicUrl, logger: deps.logger });
  void documents.prefetch();
  app.route("/", documents.app);
  app.route("/docs", docsRoutes());
  if (deps.localStorage) app.route("/media", mediaRoutes(deps.localStorage));
  if (deps.web) app.route("/", webRoutes({ ...deps.web, jwtSecret: deps.jwtSecret, logger: deps.logger }));
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

/** hono/cors for CORS_ORIGIN (`*` or a comma-separated list); the rate-limit and request-id headers are readable by the page. */
export function corsFor(setting: string) {
  return cors({
    origin: parseCorsOrigins(setting),
    allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowHeaders: ["Authorization", "Content-Type", "Accept", "X-Request-Id"],
    exposeHeaders: ["RateLimit-Limit", "RateLimit-Remaining", "Retry-After", "X-Request-Id"],
    maxAge: 600,
  });
}
