/** The public edge: CORS, health, metrics, media, the API documents and reference, and the authenticated, rate-limited /api forwarded to ingest. */
import { healthRoutes, jsonErrors, parseCorsOrigins, type ReadinessCheck, requestLog } from "@pipeline/runtime/http";
import type { Logger } from "@pipeline/runtime/logger";
import { httpMetrics, metricsRoute } from "@pipeline/runtime/metrics";
import type { RedisClient } from "@pipeline/runtime/redis";
import { traceRequests } from "@pipeline/runtime/tracing";
import type { LocalStorage } from "@pipeline/storage";
import { Hono } from "hono";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import type { Registry } from "prom-client";
import { authenticate, type GatewayEnv } from "./middleware/auth.ts";
import { guardBody } from "./middleware/body-guard.ts";
import { ipRateLimit, RateLimiter, userRateLimit } from "./middleware/rate-limit.ts";
import { apiRouteOf } from "./route-patterns.ts";
import { adminProxy } from "./routes/admin-proxy.ts";
import { AdminSessions, adminSessionRoutes } from "./routes/admin-session.ts";
import { docsRoutes } from "./routes/docs.ts";
import { mediaRoutes } from "./routes/media.ts";
import { openApiRoutes } from "./routes/openapi.ts";
import { forwardToIngest } from "./routes/proxy.ts";
import { type WebPageOptions, webRoutes } from "./routes/web.ts";

export interface GatewayDeps {
  logger: Logger;
  metrics: Registry;
  redis: RedisClient;
  localStorage: LocalStorage | null;
  jwtSecret: string;
  internalSecret: string;
  ingestUrl: string;
  upstreamTimeoutMs: number;
  rateLimitPerMinute: number;
  uploadRateLimitPerMinute: number;
  /** Requests without a valid token, per client IP. */
  ipRateLimitPerMinute: number;
  /** TRUST_PROXY_HOPS: proxies of ours in front, whose X-Forwarded-For entries are believed. */
  trustProxyHops: number;
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
  const routeOf = apiRouteOf(() => documents.paths());
  // Tracing first, so every log line of the request carries its trace id.
  app.use(traceRequests(routeOf), requestId(), requestLog(deps.logger), httpMetrics(deps.metrics, { routeOf }));
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
  const limiter = new RateLimiter(deps.redis, { keyPrefix: deps.keyPrefix, logger: deps.logger });
  // A refused token (or cookie, at /admin) counts against the client IP's budget: a flood of bad tokens gets 429.
  const onRefused = ipRateLimit(limiter, { perMinute: deps.ipRateLimitPerMinute, trustProxyHops: deps.trustProxyHops });
  app.use(
    "/api/*",
    authenticate(deps.jwtSecret, { onRefused }),
    userRateLimit(limiter, { uploadsPerMinute: deps.uploadRateLimitPerMinute, perMinute: deps.rateLimitPerMinute }),
    // Streamed and counted, never buffered: the proxy forwards the guarded body (middleware/body-guard.ts).
    guardBody({ maxBytes: deps.maxBodyBytes }),
  );
  // The queue dashboard: an admin's bearer buys a cookie that only /admin accepts; /admin is forwarded to ingest for admins.
  const adminSessions = new AdminSessions(deps.jwtSecret, deps.web?.publicUrl);
  app.route("/api/admin/session", adminSessionRoutes(adminSessions));
  const toIngest = forwardToIngest({ ingestUrl: deps.ingestUrl, internalSecret: deps.internalSecret, timeoutMs: deps.upstreamTimeoutMs });
  app.all("/api/*", toIngest);
  app.route("/admin", adminProxy({ sessions: adminSessions, jwtSecret: deps.jwtSecret, forward: toIngest, onRefused }));
  return app;
}

/** hono/cors for CORS_ORIGIN (`*` or a comma-separated list); the rate-limit and request-id headers are readable by the page. */
export function corsFor(setting: string) {
  return cors({
    origin: parseCorsOrigins(setting),
    allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowHeaders: ["Authorization", "Content-Type", "Accept", "X-Request-Id", "Idempotency-Key"],
    exposeHeaders: ["RateLimit-Limit", "RateLimit-Remaining", "Retry-After", "X-Request-Id", "Idempotent-Replayed"],
    maxAge: 600,
  });
}
