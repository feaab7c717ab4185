/** /api/admin (admin role only): the dead-letter set, bulk retry of failed jobs, and each queue's counts, workers, pause and concurrency. */
import { createRoute, z } from "@hono/zod-openapi";
import {
  bulkReanalysisRequestSchema,
  bulkReanalysisSchema,
  jobListSchema,
  jobRetriedSchema,
  jobStateSchema,
  queueConcurrencySchema,
  queueListSchema,
  queueStatusSchema,
  RETRY_FAILED_DEFAULT_LIMIT,
  RETRY_FAILED_MAX_LIMIT,
  retriedFailedSchema,
  userBacklogSchema,
  userWeightSchema,
} from "@pipeline/contracts/admin";
import { requireAdmin } from "../auth.ts";
import { errorResponses, json, openApiApp, SECURITY } from "../openapi.ts";
import type { JobsService } from "../services/jobs-service.ts";
import type { ReanalysisService } from "../services/reanalysis-service.ts";

const listQuerySchema = z.object({
  state: jobStateSchema.default("failed"),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

/** An unknown queue name is 404 (so the parameter is a plain string). */
const queueParams = z.object({
  name: z
    .string()
    .openapi({ param: { name: "name", in: "path" }, description: "ai-processing, asset-outcomes or webhook-deliveries", example: "ai-processing" }),
});

const retryFailedQuerySchema = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(RETRY_FAILED_MAX_LIMIT)
    .default(RETRY_FAILED_DEFAULT_LIMIT)
    .openapi({ description: `Failed jobs looked at, at most (default ${RETRY_FAILED_DEFAULT_LIMIT}, at most ${RETRY_FAILED_MAX_LIMIT})` }),
  queue: z.string().optional().openapi({ description: "Only this queue (default: every queue, ai-processing first)" }),
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

export const retryFailedRoute = createRoute({
  method: "post",
  path: "/jobs/retry-failed",
  operationId: "retryFailedJobs",
  summary: "Retry failed jobs in bulk (admin): AI jobs through their failed Asset, others as they are",
  tags: ["admin"],
  security: SECURITY,
  request: { query: retryFailedQuerySchema },
  responses: { 200: json(retriedFailedSchema, "How many were retried, skipped, and are still failed"), ...errorResponses(400, 403, 404) },
});

export const listQueuesRoute = createRoute({
  method: "get",
  path: "/queues",
  operationId: "listQueues",
  summary: "Every queue (admin): job counts per state, connected workers, paused, global concurrency; for ai-processing, the users with the most waiting jobs",
  tags: ["admin"],
  security: SECURITY,
  responses: { 200: json(queueListSchema, "The queues"), ...errorResponses(403) },
});

export const pauseQueueRoute = createRoute({
  method: "post",
  path: "/queues/{name}/pause",
  operationId: "pauseQueue",
  summary: "Pause a queue (admin): workers take none of its jobs until resumed; jobs in flight finish",
  tags: ["admin"],
  security: SECURITY,
  request: { params: queueParams },
  responses: { 200: json(queueStatusSchema, "The queue, paused"), ...errorResponses(403, 404) },
});

export const resumeQueueRoute = createRoute({
  method: "post",
  path: "/queues/{name}/resume",
  operationId: "resumeQueue",
  summary: "Resume a paused queue (admin)",
  tags: ["admin"],
  security: SECURITY,
  request: { params: queueParams },
  responses: { 200: json(queueStatusSchema, "The queue, running"), ...errorResponses(403, 404) },
});

export const queueConcurrencyRoute = createRoute({
  method: "put",
  path: "/queues/{name}/concurrency",
  operationId: "setQueueConcurrency",
  summary: "Cap a queue's jobs in flight across all its workers (admin; BullMQ global concurrency), or lift the cap with null",
  tags: ["admin"],
  security: SECURITY,
  request: { params: queueParams, body: { required: true, content: { "application/json": { schema: queueConcurrencySchema } } } },
  responses: { 200: json(queueStatusSchema, "The queue with its new cap"), ...errorResponses(400, 403, 404) },
});

export const reanalyzeMatchingRoute = createRoute({
  method: "post",
  path: "/reanalyze",
  operationId: "reanalyzeAssets",
  summary: "Analyse again the Assets a filter matches (admin), a bounded page at a time",
  description:
    "Looks at up to `limit` matching Assets (active or failed) in id order and queues each again as the owner's re-analysis would, below new uploads and in each owner's fair share. Call again with `nextCursor` (and the same filter) to go on.",
  tags: ["admin"],
  security: SECURITY,
  request: { body: { required: true, content: { "application/json": { schema: bulkReanalysisRequestSchema } } } },
  responses: { 202: json(bulkReanalysisSchema, "Queued"), ...errorResponses(400, 403) },
});

export const userWeightRoute = createRoute({
  method: "put",
  path: "/users/{id}/weight",
  operationId: "setUserWeight",
  summary: "A user's share of the AI queue (admin): jobs per round of the fair share, for jobs queued from now on",
  tags: ["admin"],
  security: SECURITY,
  request: {
    params: z.object({
      id: z
        .string()
        .regex(/^[0-9a-fA-F]{24}$/)
        .openapi({ param: { name: "id", in: "path" }, description: "The user's id (sub)" }),
    }),
    body: { required: true, content: { "application/json": { schema: userWeightSchema } } },
  },
  responses: { 200: json(userBacklogSchema, "The user's backlog and weight"), ...errorResponses(400, 403) },
});

export function adminRoutes(deps: { jobs: JobsService; reanalysis: ReanalysisService }) {
  const app = openApiApp();
  app.use("*", requireAdmin);

  app.openapi(listJobsRoute, async (c) => {
    const { state, limit, offset } = c.req.valid("query");
    return c.json({ state, items: await deps.jobs.list(state, offset, limit) }, 200);
  });

  app.openapi(retryJobRoute, async (c) => c.json(await deps.jobs.retry(c.req.valid("param").id), 202));

  app.openapi(retryFailedRoute, async (c) => {
    const { limit, queue } = c.req.valid("query");
    return c.json(await deps.jobs.retryFailed(limit, queue), 200);
  });

  app.openapi(reanalyzeMatchingRoute, async (c) => c.json(await deps.reanalysis.reanalyzeMatching(c.req.valid("json")), 202));
  app.openapi(userWeightRoute, async (c) => c.json(await deps.jobs.setWeight(c.req.valid("param").id, c.req.valid("json").weight), 200));

  app.openapi(listQueuesRoute, async (c) => c.json({ queues: await deps.jobs.statuses() }, 200));
  app.openapi(pauseQueueRoute, async (c) => c.json(await deps.jobs.pause(c.req.valid("param").name), 200));
  app.openapi(resumeQueueRoute, async (c) => c.json(await deps.jobs.resume(c.req.valid("param").name), 200));
  app.openapi(queueConcurrencyRoute, async (c) => c.json(await deps.jobs.setConcurrency(c.req.valid("param").name, c.req.valid("json").concurrency), 200));

  return app;
}
