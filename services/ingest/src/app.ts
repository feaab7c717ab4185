/** Ingest's HTTP app: health, metrics, its OpenAPI document, the gateway-only /api routes and the admins' queue dashboard (/admin). */

import { healthRoutes, jsonErrors, type ReadinessCheck, requestLog } from "@pipeline/runtime/http";
import type { Logger } from "@pipeline/runtime/logger";
import { httpMetrics, metricsRoute } from "@pipeline/runtime/metrics";
import { traceRequests } from "@pipeline/runtime/tracing";
import type { Queue } from "bullmq";
import { requestId } from "hono/request-id";
import type { Registry } from "prom-client";
import { QUEUE_BOARD_PATH, queueBoard } from "./admin-board.ts";
import { requireAdmin, requireGateway } from "./auth.ts";
import type { IdempotentUploads } from "./idempotency.ts";
import { OPENAPI_INFO, openApiApp } from "./openapi.ts";
import { adminRoutes } from "./routes/admin.ts";
import { assetRoutes } from "./routes/assets.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import type { AssetRemoval } from "./services/asset-removal.ts";
import type { AssetsService } from "./services/assets-service.ts";
import type { JobsService } from "./services/jobs-service.ts";
import type { ReanalysisService } from "./services/reanalysis-service.ts";
import type { WebhooksService } from "./services/webhooks-service.ts";

export interface IngestDeps {
  logger: Logger;
  metrics: Registry;
  assets: AssetsService;
  removal: AssetRemoval;
  idempotency: IdempotentUploads;
  jobs: JobsService;
  reanalysis: ReanalysisService;
  webhooks: WebhooksService;
  internalSecret: string;
  maxImageBytes: number;
  readiness: Record<string, ReadinessCheck>;
  isShuttingDown: () => boolean;
  /** The queues of the dashboard at /admin/queues (admins only); none: no dashboard. */
  queues?: Queue[];
}

export function createIngestApp(deps: IngestDeps) {
  const app = openApiApp();
  app.use(traceRequests(), requestId(), requestLog(deps.logger), httpMetrics(deps.metrics));
  jsonErrors(app, deps.logger);
  healthRoutes(app, deps.readiness, deps.isShuttingDown);
  metricsRoute(app, deps.metrics);
  const gateway = requireGateway(deps.internalSecret);
  app.use("/api/*", gateway);
  app.use("/admin/*", gateway, requireAdmin);
  if (deps.queues) app.route(QUEUE_BOARD_PATH, queueBoard(deps.queues));
  app.route("/api/assets", assetRoutes(deps));
  app.route("/api/admin", adminRoutes(deps));
  app.route("/api/webhooks", webhookRoutes(deps));
  // The document of the routes above (public paths: the gateway forwards /api as is). Needs no token.
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT (HS256, exp required, sub = the user's ObjectId)",
  });
  app.doc31("/openapi.json", { openapi: "3.1.0", info: OPENAPI_INFO, tags: [{ name: "assets" }, { name: "admin" }, { name: "webhooks" }] });
  return app;
}
