import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { Webhook } from "standardwebhooks";
import { sendAttempt } from "./send.ts";
import { newSecret } from "./signing.ts";

// A plain-HTTP receiver on loopback (allowPrivate, as in development), answering by path.
let server: Server<undefined>;
const received: { headers: Record<string, string>; body: string }[] = [];
beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      received.push({ headers: Object.fromEntries(request.headers), body: await request.text() });
      if (path === "/ok") return new Response(null, { status: 204 });
      if (path === "/moved") return new Response(null, { status: 302, headers: { location: "http://127.0.0.1:1/elsewhere" } });
      if (path === "/slow") await Bun.sleep(1000);
      return new Response("nope", { status: 500 });
    },
  });
});
afterAll(() => server.stop(true));

const options = { policy: { allowPrivate: true }, timeoutMs: 2000 };
const input = (path: string, secret = newSecret()) => ({ url: `http://127.0.0.1:${server.port}${path}`, deliveryId: "msg_abc", body: '{"type":"x"}', secret });

describe("sendAttempt", () => {
  test("a 2xx succeeds; the request is a signed JSON POST that standardwebhooks verifies", async () => {
    const secret = newSecret();
    const result = await sendAttempt(input("/ok", secret), options);
    expect(result).toMatchObject({ ok: true, statusCode: 204, error: null });
    const request = received.at(-1)!;
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["webhook-id"]).toBe("msg_abc");
    expect(Math.abs(Number(request.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(5);
    expect(new Webhook(secret).verify(request.body, request.headers)).toEqual({ type: "x" });
  });

  test("a 500 is a failed attempt with its status", async () => {
    expect(await sendAttempt(input("/fail"), options)).toMatchObject({ ok: false, statusCode: 500, error: "receiver answered 500" });
  });

  test("a redirect is not followed and names its target", async () => {
    const count = received.length;
    const result = await sendAttempt(input("/moved"), options);
    expect(result).toMatchObject({ ok: false, statusCode: 302, error: "redirect not followed: 302 to http://127.0.0.1:1/elsewhere" });
    expect(received.length).toBe(count + 1);
  });

  test("no answer within the timeout is a failed attempt without a status", async () => {
    const result = await sendAttempt(input("/slow"), { ...options, timeoutMs: 100 });
    expect(result).toMatchObject({ ok: false, statusCode: null, error: "no answer within 100 ms" });
    expect(result.durationMs).toBeGreaterThanOrEqual(90);
  });

  test("a refused connection is a failed attempt", async () => {
    const result = await sendAttempt({ ...input("/"), url: "http://127.0.0.1:1/" }, options);
    expect(result.ok).toBe(false);
    expect(result.error).toStartWith("request failed: ");
  });

  test("an abort by the caller (shutdown) rejects instead of counting as an attempt", async () => {
    const shutdown = new AbortController();
    const attempt = sendAttempt(input("/slow"), { ...options, signal: shutdown.signal });
    setTimeout(() => shutdown.abort(new Error("shutting down")), 50);
    await expect(attempt).rejects.toThrow("shutting down");
  });
});
