/** Ingest's HTTP app: health, metrics, its OpenAPI document, and the gateway-only /api routes. */

import { healthRoutes, jsonErrors, type ReadinessCheck, requestLog } from "@pipeline/runtime/http";
import type { Logger } from "@pipeline/runtime/logger";
import { httpMetrics, metricsRoute } from "@pipeline/runtime/metrics";
import { requestId } from "hono/request-id";
import type { Registry } from "prom-client";
import { requireGateway } from "./auth.ts";
import { OPENAPI_INFO, openApiApp } from "./openapi.ts";
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
  const app = openApiApp();
  app.use(requestId(), requestLog(deps.logger), httpMetrics(deps.metrics));
  jsonErrors(app, deps.logger);
  healthRoutes(app, deps.readiness, deps.isShuttingDown);
  metricsRoute(app, deps.metrics);
  app.use("/api/*", requireGateway(deps.internalSecret));
  app.route("/api/assets", assetRoutes(deps));
  app.route("/api/admin", adminRoutes(deps));
  // The document of the routes above (public paths: the gateway forwards /api as is). Needs no token.
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT (HS256, exp required, sub = the user's ObjectId)",
  });
  app.doc31("/openapi.json", { openapi: "3.1.0", info: OPENAPI_INFO, tags: [{ name: "assets" }, { name: "admin" }] });
  return app;
}
