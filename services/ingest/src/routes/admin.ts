/** /api/admin: the dead-letter set for operators (admin role only). */
import { HttpError, jobDataSchema } from "@pipeline/contracts";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import type { AssetsService } from "../assets-service.ts";
import type { IngestEnv } from "../auth.ts";
import type { AiJobProducer } from "../queue.ts";

const listQuerySchema = z.object({
  state: z.enum(["failed", "waiting", "active", "delayed", "completed"]).default("failed"),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const requireAdmin = createMiddleware<IngestEnv>(async (c, next) => {
  if (!c.var.user.isAdmin) throw new HttpError(403, "forbidden", "admin role required");
  await next();
});

export function adminRoutes(deps: { producer: AiJobProducer; service: AssetsService }) {
  const app = new Hono<IngestEnv>();
  app.use("*", requireAdmin);

  app.get("/jobs", async (c) => {
    const query = listQuerySchema.safeParse(c.req.query());
    if (!query.success) throw new HttpError(400, "bad_request", query.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    const { state, limit, offset } = query.data;
    const jobs = await deps.producer.list(state, offset, offset + limit - 1);
    return c.json({
      state,
      items: jobs.map((job) => ({
        id: job.id,
        assetId: (job.data as { assetId?: unknown })?.assetId ?? null,
        userId: (job.data as { userId?: unknown })?.userId ?? null,
        failedReason: job.failedReason ?? null,
        attemptsMade: job.attemptsMade,
        attempts: job.opts.attempts ?? 1,
        createdAt: new Date(job.timestamp).toISOString(),
        finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
      })),
    });
  });

  /** Retries a failed job: through its Asset when it has one (new run, Asset back to processing), else the job as it is. */
  app.post("/jobs/:id/retry", async (c) => {
    const job = await deps.producer.get(c.req.param("id"));
    if (!job) throw new HttpError(404, "not_found", "job not found");
    if (!(await job.isFailed())) throw new HttpError(409, "conflict", "only a failed job can be retried");
    const data = jobDataSchema.safeParse(job.data);
    if (data.success) {
      const asset = await deps.service.findAny(data.data.assetId);
      if (asset?.status === "failed") return c.json(await deps.service.retry(data.data.assetId, asset.userId.toHexString()), 202);
    }
    await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
    return c.json({ jobId: job.id, status: "waiting" }, 202);
  });

  return app;
}
