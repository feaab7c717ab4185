/** Forwards an authenticated /api request to ingest, vouching for the user with a short-lived internal token. */

import { InternalTokenSigner } from "@pipeline/runtime/auth";
import { DependencyError, HttpError } from "@pipeline/runtime/http";
import { createMiddleware } from "hono/factory";
import type { GatewayEnv } from "../middleware/auth.ts";

const FORWARDED_HEADERS = ["content-type", "content-length", "accept"];

export function forwardToIngest(options: { ingestUrl: string; internalSecret: string; timeoutMs: number }) {
  const base = options.ingestUrl.replace(/\/+$/, "");
  const signer = new InternalTokenSigner(options.internalSecret);
  return createMiddleware<GatewayEnv>(async (c) => {
    const incoming = new URL(c.req.url);
    const headers = new Headers();
    for (const name of FORWARDED_HEADERS) {
      const value = c.req.header(name);
      if (value) headers.set(name, value);
    }
    headers.set("authorization", `Bearer ${await signer.tokenFor(c.var.user)}`);
    headers.set("x-request-id", c.var.requestId);
    const hasBody = c.req.method !== "GET" && c.req.method !== "HEAD";
    let upstream: Response;
    try {
      upstream = await fetch(`${base}${incoming.pathname}${incoming.search}`, {
        method: c.req.method,
        headers,
        body: hasBody ? c.req.raw.body : undefined,
        signal: AbortSignal.timeout(options.timeoutMs),
        redirect: "manual",
        // @ts-expect-error Bun/undici option for streaming request bodies
        duplex: "half",
      });
    } catch (error) {
      if (error instanceof HttpError) throw error;
      throw new DependencyError("ingest", error);
    }
    const responseHeaders = new Headers(upstream.headers);
    responseHeaders.delete("content-encoding");
    responseHeaders.delete("content-length");
    return new Response(upstream.body, { status: upstream.status, headers: responseHeaders });
  });
}
