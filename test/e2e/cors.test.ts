/**
 * CORS_ORIGIN on the gateway (hono/cors, before authentication) and the
 * notifier (socket.io): an allowed origin gets the headers, preflights
 * included and without a token; any other origin gets none; unset, nobody does.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";

const ALLOWED = "http://app.localhost:5173";
const OTHER = "http://evil.localhost:6666";

const preflight = (base: string, origin: string) =>
  fetch(`${base}/api/assets`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
  });

describe("with CORS_ORIGIN set to a list", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({ services: ["ingest", "notifier", "gateway"], env: { CORS_ORIGIN: `${ALLOWED}, http://other.localhost:1` } });
  });
  afterAll(() => stack?.stop());

  test("a preflight from an allowed origin is 204 with the headers, without a token", async () => {
    const response = await preflight(stack.gatewayUrl, ALLOWED);
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(response.headers.get("access-control-allow-methods")).toContain("POST");
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
  });

  test("a preflight from another origin gets no allow header", async () => {
    const response = await preflight(stack.gatewayUrl, OTHER);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("an actual GET with an allowed Origin gets the header, and the rate-limit headers are exposed", async () => {
    const response = await fetch(`${stack.gatewayUrl}/api/assets`, {
      headers: { origin: ALLOWED, authorization: `Bearer ${await tokenFor(newUserId())}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(response.headers.get("access-control-expose-headers")).toContain("RateLimit-Remaining");
    const other = await fetch(`${stack.gatewayUrl}/api/openapi.json`, { headers: { origin: OTHER } });
    expect(other.status).toBe(200);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("the notifier follows the same setting", async () => {
    const notifier = stack.get("notifier").url;
    const allowed = await fetch(`${notifier}/socket.io/?EIO=4&transport=polling`, { headers: { origin: ALLOWED } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    await allowed.arrayBuffer();
    const other = await fetch(`${notifier}/socket.io/?EIO=4&transport=polling`, { headers: { origin: OTHER } });
    expect(other.headers.get("access-control-allow-origin")).not.toBe(OTHER);
    await other.arrayBuffer();
  });
});

describe("with CORS_ORIGIN unset (production's default)", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({ services: ["ingest", "notifier", "gateway"] });
  });
  afterAll(() => stack?.stop());

  test("no CORS headers on a preflight or a GET, from the gateway or the notifier", async () => {
    const response = await preflight(stack.gatewayUrl, ALLOWED);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    const get = await fetch(`${stack.gatewayUrl}/healthz`, { headers: { origin: ALLOWED } });
    expect(get.headers.get("access-control-allow-origin")).toBeNull();
    const socket = await fetch(`${stack.get("notifier").url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: ALLOWED } });
    expect(socket.headers.get("access-control-allow-origin")).toBeNull();
    await socket.arrayBuffer();
  });
});
