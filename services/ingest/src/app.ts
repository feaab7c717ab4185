/** Ingest's HTTP app: health, metrics, and the gateway-only /api routes. */

import { healthRoutes, jsonErrors, type ReadinessCheck, requestLog } from "@pipeline/runtime/http";
import type { Logger } from "@pipeline/runtime/logger";
import { httpMetrics, metricsRoute } from "@pipeline/runtime/metrics";
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import type { Registry } from "prom-client";
import { type IngestEnv, requireGateway } from "./auth.ts";
import { adminRoutes } from "./routes/admin.ts";
import { assetRoutes } from "./routes/assets.ts";
import type { AssetsService } from "./services/assets-service.ts";
import type { JobsService } from "./services/jobs-service.ts";

export interface IngestDeps {
  logger: Logger;
  metrics: Registry;
  assets: AssetsService;
  jobs: JobsService;
  internalSecret: string;
  maxImageBytes: number;
  readiness: Record<string, ReadinessCheck>;
  isShuttingDown: () => boolean;
}

export function createIngestApp(deps: IngestDeps) {
  const app = new Hono<IngestEnv>();
  app.use(requestId(), requestLog(deps.logger), httpMetrics(deps.metrics));
  jsonErrors(app, deps.logger);
  healthRoutes(app, deps.readiness, deps.isShuttingDown);
  metricsRoute(app, deps.metrics);
  app.use("/api/*", requireGateway(deps.internalSecret));
  app.route("/api/assets", assetRoutes(deps));
  app.route("/api/admin", adminRoutes(deps));
  return app;
}
