/** Prometheus metrics: one registry per service with process defaults and HTTP timings. */
import type { Context, Env, Hono, MiddlewareHandler } from "hono";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

export function createMetrics(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  // The event-loop lag monitor samples every 10 ms by default: ~5 ms of CPU per second on an idle
  // service. Once a second is plenty for an operator's lag figure.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
  return registry;
}

export function metricsRoute<E extends Env>(app: Hono<E>, registry: Registry): void {
  app.get("/metrics", async (c) => c.text(await registry.metrics(), 200, { "content-type": registry.contentType }));
}

export interface HttpMetricsOptions {
  /**
   * The `route` label of a request (default: the pattern Hono matched). It must
   * come from a bounded set (a pattern, a fixed fallback), never the raw path.
   */
  routeOf?: (c: Context) => string;
}

/** Request count and duration by method, route pattern and status. */
export function httpMetrics(registry: Registry, options: HttpMetricsOptions = {}): MiddlewareHandler {
  const routeOf = options.routeOf ?? ((c: Context) => c.req.routePath);
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request duration",
    labelNames: ["method", "route", "status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return async (c, next) => {
    const end = duration.startTimer();
    await next();
    end({ method: c.req.method, route: routeOf(c), status: String(c.res.status) });
  };
}

export function counter(registry: Registry, name: string, help: string, labelNames: string[] = []): Counter {
  return new Counter({ name, help, labelNames, registers: [registry] });
}

export function histogram(registry: Registry, name: string, help: string, labelNames: string[] = [], buckets?: number[]): Histogram {
  return new Histogram({ name, help, labelNames, registers: [registry], ...(buckets ? { buckets } : {}) });
}
