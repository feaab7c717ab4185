/** The gateway's per-user rate limit, counted in Redis across replicas, and its health routes. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { getJson } from "../helpers/api.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";

const LIMIT = 5;
let stack: Stack;

beforeAll(async () => {
  stack = await Stack.start({ services: ["ingest", "gateway"], env: { RATE_LIMIT_PER_MINUTE: String(LIMIT) } });
});
afterAll(() => stack?.stop());

test("past the limit a user gets 429 with Retry-After, on every replica; other users are unaffected", async () => {
  const second = await stack.add("gateway");
  const token = await tokenFor(newUserId());
  // The window is the clock minute: start well inside one.
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 55_000) await Bun.sleep(60_000 - intoMinute + 100);
  const statuses: number[] = [];
  for (let i = 0; i < LIMIT + 2; i++) {
    // Alternate replicas: the budget is shared.
    const base = i % 2 === 0 ? stack.gatewayUrl : second.url;
    statuses.push((await getJson(base, "/api/assets", token)).status);
  }
  expect(statuses).toEqual([...Array(LIMIT).fill(200), 429, 429]);
  const refused = await getJson(stack.gatewayUrl, "/api/assets", token);
  expect(refused.status).toBe(429);
  expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  expect((await refused.json()).error.code).toBe("rate_limited");
  expect((await getJson(stack.gatewayUrl, "/api/assets", await tokenFor(newUserId()))).status).toBe(200);
});

test("/healthz, /readyz and /metrics answer on the gateway", async () => {
  expect((await fetch(`${stack.gatewayUrl}/healthz`)).status).toBe(200);
  const ready = await fetch(`${stack.gatewayUrl}/readyz`);
  expect(ready.status).toBe(200);
  expect((await ready.json()).checks).toEqual({ ingest: true, redis: true });
  const metrics = await (await fetch(`${stack.gatewayUrl}/metrics`)).text();
  expect(metrics).toContain("http_request_duration_seconds");
});

test("/readyz is 503 naming ingest when ingest is down", async () => {
  const ingest = stack.get("ingest");
  ingest.proc.kill("SIGTERM");
  await ingest.proc.exited;
  const ready = await fetch(`${stack.gatewayUrl}/readyz`);
  expect(ready.status).toBe(503);
  expect((await ready.json()).error.message).toContain("ingest");
  const api = await getJson(stack.gatewayUrl, "/api/assets", await tokenFor(newUserId()));
  expect(api.status).toBe(503);
});

test("/openapi.json describes every public route", async () => {
  const doc = await (await fetch(`${stack.gatewayUrl}/openapi.json`)).json();
  expect(doc.openapi).toStartWith("3.");
  // Every route DESIGN.md names (the API contract test checks that nothing ingest serves is missing).
  expect(Object.keys(doc.paths)).toEqual(
    expect.arrayContaining([
      "/api/admin/jobs",
      "/api/admin/jobs/{id}/retry",
      "/api/admin/jobs/retry-failed",
      "/api/admin/queues",
      "/api/admin/queues/{name}/pause",
      "/api/admin/queues/{name}/resume",
      "/api/admin/session",
      "/api/assets",
      "/api/assets/analyze-queue",
      "/api/assets/{id}",
      "/api/assets/{id}/retry",
      "/api/webhooks",
      "/api/webhooks/{id}",
      "/api/webhooks/{id}/deliveries",
      "/healthz",
      "/media/{name}",
      "/readyz",
    ]),
  );
});
