/**
 * HTTP pieces every service shares: the JSON error shape
 * `{error: {code, message}}`, an error handler that never leaks a stack to a
 * client, and the health routes.
 */

import { codeForStatus, errorBody } from "@pipeline/contracts/errors";
import type { Context, Hono, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "./logger.ts";

export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Marks errors raised because a dependency (Redis, MongoDB, ingest) is unreachable. */
export class DependencyError extends HttpError {
  constructor(dependency: string, cause?: unknown) {
    super(503, "unavailable", `${dependency} is unavailable, try again shortly`);
    this.cause = cause;
  }
}

/** Runs an operation on a dependency that fails only when it is unreachable (Redis, a queue): any error is a 503 naming it. */
export async function orUnavailable<T>(dependency: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw new DependencyError(dependency, error);
  }
}

/** The app-wide error handler: known errors keep their status, anything else is a logged 500 without details. */
export function jsonErrors(app: Hono<any>, logger: Logger, describe?: (error: Error) => HttpError | undefined): void {
  app.onError((error, c) => {
    const known = error instanceof HttpError ? error : describe?.(error);
    if (known) {
      if (known.status >= 500) logger.warn({ err: error, reqId: c.get("requestId") }, known.message);
      return c.json(errorBody(known.code, known.message), known.status);
    }
    if (error instanceof HTTPException) {
      const status = error.status as ContentfulStatusCode;
      return c.json(errorBody(codeForStatus(status), error.message || codeForStatus(status)), status);
    }
    logger.error({ err: error, reqId: c.get("requestId") }, "unhandled error");
    return c.json(errorBody("internal_error", "internal error"), 500);
  });
  app.notFound((c) => c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404));
}

export type ReadinessCheck = () => Promise<boolean>;

/** `/healthz`: the process answers. `/readyz`: every dependency answers (503 naming the ones that do not). */
export function healthRoutes(app: Hono<any>, checks: Record<string, ReadinessCheck>, isShuttingDown: () => boolean = () => false): void {
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c: Context) => {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => [name, await withTimeout(check(), 2000).catch(() => false)] as const),
    );
    const failing = results.filter(([, ok]) => !ok).map(([name]) => name);
    if (isShuttingDown()) failing.push("shutting down");
    const body = { status: failing.length ? "unavailable" : "ready", checks: Object.fromEntries(results) };
    return c.json(failing.length ? { ...body, ...errorBody("unavailable", `not ready: ${failing.join(", ")}`) } : body, failing.length ? 503 : 200);
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** One JSON log line per request with its id (hono/request-id sets it, honouring an incoming X-Request-Id). */
export function requestLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    if (c.req.path === "/healthz" || c.req.path === "/readyz" || c.req.path === "/metrics") return;
    logger.info(
      { reqId: c.get("requestId"), method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) },
      "request",
    );
  };
}

/** CORS_ORIGIN's value: `*`, or the comma-separated list of allowed origins. */
export function parseCorsOrigins(setting: string): "*" | string[] {
  const origins = setting
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
  return origins.includes("*") ? "*" : origins;
}
