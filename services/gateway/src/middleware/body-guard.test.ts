import { describe, expect, test } from "bun:test";
import { HttpError, jsonErrors } from "@pipeline/runtime/http";
import { createLogger } from "@pipeline/runtime/logger";
import { Hono } from "hono";
import type { GatewayEnv } from "./auth.ts";
import { BodyGuard, guardBody, OccurrenceCounter } from "./body-guard.ts";

const encode = (text: string) => new TextEncoder().encode(text);

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

function form(parts: number, boundary = "XyZ"): string {
  return (
    Array.from({ length: parts }, (_, i) => `--${boundary}\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nv${i}\r\n`).join("") + `--${boundary}--\r\n`
  );
}

describe("OccurrenceCounter", () => {
  const needle = Buffer.from("--XyZ");
  const body = encode(form(5));

  test("counts every delimiter wherever the chunks are split", () => {
    for (let cut = 0; cut <= body.length; cut++) {
      const counter = new OccurrenceCounter(needle);
      counter.push(body.subarray(0, cut));
      expect(counter.push(body.subarray(cut))).toBe(6);
    }
    const byteByByte = new OccurrenceCounter(needle);
    for (const byte of body) byteByByte.push(Uint8Array.of(byte));
    expect(byteByByte.count).toBe(6);
  });
});

async function drain(guard: BodyGuard): Promise<Uint8Array> {
  return new Uint8Array(await new Response(guard.stream).arrayBuffer());
}

describe("BodyGuard", () => {
  const limits = { maxBytes: 1000, declaredLength: undefined, boundary: "XyZ", maxParts: 4 };

  test("passes a body within the limits through unchanged", async () => {
    const body = encode(form(4));
    const guard = new BodyGuard(streamOf([body.subarray(0, 7), body.subarray(7)]), { ...limits, declaredLength: body.length });
    expect(await drain(guard)).toEqual(body);
    expect(guard.complete).toBe(true);
    expect(guard.violation).toBeUndefined();
  });

  test("stops at the part past the limit, before reading the rest", async () => {
    const chunks = Array.from({ length: 100 }, (_, i) => encode(`--XyZ\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nv\r\n`));
    let pulled = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = chunks[pulled++];
        if (chunk) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const guard = new BodyGuard(source, { ...limits, maxBytes: 1_000_000 });
    await expect(drain(guard)).rejects.toThrow(/more than 4 parts/);
    expect(guard.violation?.status).toBe(400);
    expect(pulled).toBeLessThan(10);
  });

  test("413 past maxBytes, counted as the body streams", async () => {
    const guard = new BodyGuard(streamOf([new Uint8Array(600), new Uint8Array(600)]), { ...limits, boundary: undefined });
    await expect(drain(guard)).rejects.toThrow(HttpError);
    expect(guard.violation?.status).toBe(413);
  });

  test("400 when the body is longer or shorter than its Content-Length", async () => {
    const longer = new BodyGuard(streamOf([encode("hello world")]), { ...limits, boundary: undefined, declaredLength: 5 });
    await expect(drain(longer)).rejects.toThrow(/Content-Length says 5/);
    const shorter = new BodyGuard(streamOf([encode("hi")]), { ...limits, boundary: undefined, declaredLength: 5 });
    await expect(drain(shorter)).rejects.toThrow(/Content-Length says 5 bytes but the body has 2/);
  });
});

describe("guardBody", () => {
  const app = new Hono<GatewayEnv>();
  jsonErrors(app, createLogger("test"));
  app.post("/", guardBody({ maxBytes: 200 }), async (c) => c.json({ received: (await drain(c.var.bodyGuard as BodyGuard)).length }));
  const post = (headers: Record<string, string>, body = "hello") => app.request("/", { method: "POST", headers, body });

  test("refuses from the headers alone what they give away", async () => {
    expect((await post({ "content-length": "5", "transfer-encoding": "chunked" })).status).toBe(400);
    expect((await post({ "content-length": "5, 5" })).status).toBe(400);
    expect((await post({ "content-length": "1000" }, "x".repeat(1000))).status).toBe(413);
    const noBoundary = await post({ "content-type": "multipart/form-data" });
    expect(noBoundary.status).toBe(400);
    expect((await noBoundary.json()).error.message).toMatch(/boundary/);
  });

  test("lets a proper body through to the handler", async () => {
    const response = await post({ "content-type": 'multipart/form-data; boundary="XyZ"' }, form(2));
    expect(await response.json()).toEqual({ received: form(2).length });
  });
});
