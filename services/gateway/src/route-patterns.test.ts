import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { apiRouteOf, compileRoutePatterns, UNMATCHED_API_ROUTE } from "./route-patterns.ts";

const PATHS = [
  "/api/assets",
  "/api/assets/analyze-queue",
  "/api/assets/{id}",
  "/api/assets/{id}/retry",
  "/api/webhooks",
  "/api/webhooks/{id}",
  "/api/webhooks/{id}/deliveries",
  "/api/admin/queues/{name}/pause",
  "/healthz",
];

describe("compileRoutePatterns", () => {
  const match = compileRoutePatterns(PATHS);

  test("maps a concrete path to its pattern, parameters written Hono's way", () => {
    expect(match("/api/assets/65f0c0ffee0000000000beef")).toBe("/api/assets/:id");
    expect(match("/api/assets/65f0c0ffee0000000000beef/retry")).toBe("/api/assets/:id/retry");
    expect(match("/api/webhooks/abc/deliveries")).toBe("/api/webhooks/:id/deliveries");
    expect(match("/api/admin/queues/ai-processing/pause")).toBe("/api/admin/queues/:name/pause");
    expect(match("/api/assets")).toBe("/api/assets");
  });

  test("a literal segment wins over a parameter, whatever the document's order", () => {
    expect(match("/api/assets/analyze-queue")).toBe("/api/assets/analyze-queue");
    expect(compileRoutePatterns([...PATHS].reverse())("/api/assets/analyze-queue")).toBe("/api/assets/analyze-queue");
  });

  test("no pattern: undefined (empty parameters, extra or missing segments, unknown literals)", () => {
    for (const path of ["/api/assets//retry", "/api/assets/x/retry/again", "/api/nothing", "/api/assets/x/undo", "/api/assets/", "/"]) {
      expect(match(path)).toBeUndefined();
    }
  });
});

describe("apiRouteOf", () => {
  function gateway(loadPaths: () => Promise<string[]>, retryMs?: number) {
    const routeOf = apiRouteOf(loadPaths, retryMs);
    const seen: string[] = [];
    const app = new Hono();
    app.use(async (c, next) => {
      await next();
      seen.push(routeOf(c));
    });
    app.get("/healthz", (c) => c.text("ok"));
    app.all("/api/*", (c) => c.text("forwarded"));
    return { seen, get: (path: string) => app.request(path) };
  }

  test("forwarded requests get their API pattern, unknown ones the fixed fallback; own routes keep Hono's", async () => {
    const { seen, get } = gateway(async () => PATHS);
    await Bun.sleep(0);
    await get("/api/assets/65f0c0ffee0000000000beef");
    await get("/api/no/such/thing/65f0c0ffee0000000000beef");
    await get("/healthz");
    expect(seen).toEqual(["/api/assets/:id", UNMATCHED_API_ROUTE, "/healthz"]);
  });

  test("reads the paths once when they load; retries a failed read no more often than retryMs", async () => {
    let calls = 0;
    let available = false;
    const { seen, get } = gateway(async () => {
      calls++;
      if (!available) throw new Error("ingest down");
      return PATHS;
    }, 50);
    await Bun.sleep(0);
    await get("/api/assets/a");
    await get("/api/assets/b");
    expect(calls).toBe(1);
    available = true;
    await Bun.sleep(60);
    await get("/api/assets/c");
    await Bun.sleep(0);
    await get("/api/assets/d");
    await get("/api/assets/e");
    expect(calls).toBe(2);
    expect(seen).toEqual([UNMATCHED_API_ROUTE, UNMATCHED_API_ROUTE, UNMATCHED_API_ROUTE, "/api/assets/:id", "/api/assets/:id"]);
  });
});
