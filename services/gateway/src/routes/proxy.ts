/**
 * Forwards an authenticated /api request to ingest, vouching for the user with a short-lived internal token.
 * The body goes on as a stream with framing the gateway sets itself (chunked): the client's Content-Length and
 * Transfer-Encoding are never passed on, so no disagreement between them can reach ingest (request smuggling).
 * With guardBody in front, the stream is the guarded one, and a limit it hit is the answer.
 */

import { InternalTokenSigner } from "@pipeline/runtime/auth";
import { DependencyError, HttpError } from "@pipeline/runtime/http";
import { injectIntoHeaders } from "@pipeline/runtime/tracing";
import { createMiddleware } from "hono/factory";
import type { StatusCode } from "hono/utils/http-status";
import type { GatewayEnv } from "../middleware/auth.ts";
import { bunServer } from "../middleware/client-ip.ts";

const FORWARDED_HEADERS = ["content-type", "accept", "idempotency-key"];
/** Past the upstream timeout, so the gateway's own answer (503, 408) is out before Bun closes the connection. */
const CONNECTION_SLACK_S = 5;

export function forwardToIngest(options: { ingestUrl: string; internalSecret: string; timeoutMs: number }) {
  const base = options.ingestUrl.replace(/\/+$/, "");
  const signer = new InternalTokenSigner(options.internalSecret);
  // Bun's idleTimeout (IDLE_TIMEOUT_S) is short, to drop slow headers and idle connections; an authenticated
  // request waiting on ingest gets the upstream timeout instead (Bun's maximum is 255 s).
  const connectionTimeoutS = Math.min(255, Math.ceil(options.timeoutMs / 1000) + CONNECTION_SLACK_S);
  return createMiddleware<GatewayEnv>(async (c) => {
    bunServer(c)?.timeout(c.req.raw, connectionTimeoutS);
    const incoming = new URL(c.req.url);
    const headers = new Headers();
    for (const name of FORWARDED_HEADERS) {
      const value = c.req.header(name);
      if (value) headers.set(name, value);
    }
    headers.set("authorization", `Bearer ${await signer.tokenFor(c.var.user)}`);
    headers.set("x-request-id", c.var.requestId);
    injectIntoHeaders(headers);
    const hasBody = c.req.method !== "GET" && c.req.method !== "HEAD";
    const guard = c.get("bodyGuard");
    const signal = AbortSignal.timeout(options.timeoutMs);
    let upstream: Response;
    try {
      upstream = await fetch(`${base}${incoming.pathname}${incoming.search}`, {
        method: c.req.method,
        headers,
        body: hasBody ? (guard?.stream ?? c.req.raw.body) : undefined,
        signal,
        redirect: "manual",
        // @ts-expect-error Bun/undici option for streaming request bodies
        duplex: "half",
      });
    } catch (error) {
      if (guard?.violation) throw guard.violation;
      if (error instanceof HttpError) throw error;
      // The client, not ingest, is slow: its body (say, shorter than its Content-Length) never finished.
      if (guard && !guard.complete && signal.aborted) {
        throw new HttpError(408, "request_timeout", `the request body did not arrive within ${options.timeoutMs} ms (${guard.received} bytes received)`);
      }
      throw new DependencyError("ingest", error);
    }
    const responseHeaders = new Headers(upstream.headers);
    responseHeaders.delete("content-encoding");
    responseHeaders.delete("content-length");
    // Through the context, so headers set on the way (RateLimit-*) are kept.
    return c.newResponse(upstream.body, { status: upstream.status as StatusCode, headers: responseHeaders });
  });
}
