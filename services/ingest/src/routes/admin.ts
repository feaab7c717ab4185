/** /api/admin: the dead-letter set for operators (admin role only). */
import { HttpError } from "@pipeline/runtime/http";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import type { IngestEnv } from "../auth.ts";
import type { JobsService } from "../services/jobs-service.ts";
import { parseQuery } from "./query.ts";

const listQuerySchema = z.object({
  state: z.enum(["failed", "waiting", "active", "delayed", "completed"]).default("failed"),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const requireAdmin = createMiddleware<IngestEnv>(async (c, next) => {
  if (!c.var.user.isAdmin) throw new HttpError(403, "forbidden", "admin role required");
  await next();
});

export function adminRoutes(deps: { jobs: JobsService }) {
  const app = new Hono<IngestEnv>();
  app.use("*", requireAdmin);

  app.get("/jobs", async (c) => {
    const { state, limit, offset } = parseQuery(listQuerySchema, c.req.query());
    return c.json({ state, items: await deps.jobs.list(state, offset, limit) });
  });

  app.post("/jobs/:id/retry", async (c) => c.json(await deps.jobs.retry(c.req.param("id")), 202));

  return app;
}
