/** /api/admin: the dead-letter set for operators (admin role only). */
import { createRoute, z } from "@hono/zod-openapi";
import { jobListSchema, jobRetriedSchema, jobStateSchema } from "@pipeline/contracts/admin";
import { HttpError } from "@pipeline/runtime/http";
import { createMiddleware } from "hono/factory";
import type { IngestEnv } from "../auth.ts";
import { errorResponses, json, openApiApp, SECURITY } from "../openapi.ts";
import type { JobsService } from "../services/jobs-service.ts";

const listQuerySchema = z.object({
  state: jobStateSchema.default("failed"),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const requireAdmin = createMiddleware<IngestEnv>(async (c, next) => {
  if (!c.var.user.isAdmin) throw new HttpError(403, "forbidden", "admin role required");
  await next();
});

export const listJobsRoute = createRoute({
  method: "get",
  path: "/jobs",
  operationId: "listJobs",
  summary: "Jobs by state (admin): the dead-letter set with state=failed",
  tags: ["admin"],
  security: SECURITY,
  request: { query: listQuerySchema },
  responses: { 200: json(jobListSchema, "Jobs with reason, attempts and asset"), ...errorResponses(400, 403) },
});

export const retryJobRoute = createRoute({
  method: "post",
  path: "/jobs/{id}/retry",
  operationId: "retryJob",
  summary: "Retry one failed job (admin), through its Asset when it has one",
  tags: ["admin"],
  security: SECURITY,
  request: { params: z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, description: "The BullMQ job id" }) }) },
  responses: { 202: json(jobRetriedSchema, "Queued again"), ...errorResponses(403, 404, 409) },
});

export function adminRoutes(deps: { jobs: JobsService }) {
  const app = openApiApp();
  app.use("*", requireAdmin);

  app.openapi(listJobsRoute, async (c) => {
    const { state, limit, offset } = c.req.valid("query");
    return c.json({ state, items: await deps.jobs.list(state, offset, limit) }, 200);
  });

  app.openapi(retryJobRoute, async (c) => c.json(await deps.jobs.retry(c.req.valid("param").id), 202));

  return app;
}
