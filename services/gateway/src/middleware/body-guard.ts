/**
 * What a request body must be before ingest sees any of it. Bun's HTTP parser
 * already refuses a request with both Content-Length and Transfer-Encoding,
 * two different Content-Lengths, a malformed one or an unknown transfer
 * coding (400), and cuts a body at Bun.serve's maxRequestBodySize (413). On
 * top of that, the gateway:
 * - refuses from the headers alone: a body declared larger than
 *   MAX_BODY_BYTES (413), a Content-Length that is not one plain number
 *   (Bun joins repeated equal ones into "5, 5"), a multipart type with no
 *   usable boundary (400);
 * - streams the body through a guard that counts it as it goes (never
 *   buffering it): past MAX_BODY_BYTES it stops with 413, on a
 *   Content-Length that disagrees with the bytes with 400, and on a multipart
 *   body with more than MAX_MULTIPART_PARTS parts with 400, after reading
 *   only that many delimiters (a 10,000-part form is refused after its
 *   17th, long before anyone parses it).
 * The proxy forwards the guarded stream with framing of its own (chunked),
 * so what ingest reads is exactly what the guard let through.
 */
import { HttpError } from "@pipeline/runtime/http";
import { createMiddleware } from "hono/factory";
import type { GatewayEnv } from "./auth.ts";

/** The upload has two fields (image, category); this leaves room for a client's extra ones and stays far below what costs anything to parse. */
export const MAX_MULTIPART_PARTS = 16;

export interface BodyLimits {
  maxBytes: number;
  maxParts?: number;
}

/** The body limits of /api: refuses what the headers already give away, then hands the proxy a guarded body (`c.var.bodyGuard`). */
export function guardBody(limits: BodyLimits) {
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const request = c.req.raw;
    const declared = declaredLength(request.headers, limits.maxBytes);
    const boundary = multipartBoundary(request.headers.get("content-type"));
    if (request.body) {
      c.set(
        "bodyGuard",
        new BodyGuard(request.body, { maxBytes: limits.maxBytes, declaredLength: declared, boundary, maxParts: limits.maxParts ?? MAX_MULTIPART_PARTS }),
      );
    }
    await next();
  });
}

function declaredLength(headers: Headers, maxBytes: number): number | undefined {
  const value = headers.get("content-length");
  if (value === null) return undefined;
  if (headers.has("transfer-encoding")) throw new HttpError(400, "bad_request", "a request may not carry both Content-Length and Transfer-Encoding");
  if (!/^\d{1,15}$/.test(value)) throw new HttpError(400, "bad_request", "Content-Length must be a single whole number");
  const length = Number(value);
  if (length > maxBytes) throw new HttpError(413, "payload_too_large", `request body is larger than ${maxBytes} bytes`);
  return length;
}

/** The boundary of a multipart body (undefined for other types); 400 when a multipart type has none, or an invalid one (RFC 2046: 1-70 characters). */
function multipartBoundary(contentType: string | null): string | undefined {
  if (!contentType || !/^\s*multipart\//i.test(contentType)) return undefined;
  const match = contentType.match(/;\s*boundary=(?:"([^"]*)"|([^;\s]*))/i);
  const boundary = match?.[1] ?? match?.[2] ?? "";
  if (boundary.length < 1 || boundary.length > 70) {
    throw new HttpError(400, "bad_request", "malformed multipart request: Content-Type needs a boundary of 1 to 70 characters");
  }
  return boundary;
}

/**
 * The request body as the proxy forwards it: read from the client only as
 * fast as ingest takes it, counted on the way. A limit crossed errors the
 * stream (so the forward fails and ingest never gets a complete body) and
 * leaves the reason in `violation` for the proxy to answer with.
 */
export class BodyGuard {
  readonly stream: ReadableStream<Uint8Array>;
  received = 0;
  /** The whole body went through. */
  complete = false;
  violation: HttpError | undefined;
  private readonly delimiters: OccurrenceCounter | undefined;

  constructor(
    source: ReadableStream<Uint8Array>,
    private readonly limits: { maxBytes: number; declaredLength: number | undefined; boundary: string | undefined; maxParts: number },
  ) {
    this.delimiters = limits.boundary === undefined ? undefined : new OccurrenceCounter(Buffer.from(`--${limits.boundary}`, "latin1"));
    const reader = source.getReader();
    // Cancelled by the forward itself (ingest answered, or the upstream timeout fired): whatever the read gives then is no verdict on the client.
    let cancelled = false;
    const fail = (controller: ReadableStreamDefaultController<Uint8Array>, violation: HttpError) => {
      if (cancelled) return;
      this.violation = violation;
      controller.error(violation);
      // Stop reading what the client still sends: the answer is known.
      reader.cancel(violation).catch(() => undefined);
    };
    this.stream = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch {
          return fail(controller, new HttpError(400, "bad_request", `the request body ended early (connection closed after ${this.received} bytes)`));
        }
        if (cancelled) return;
        if (chunk.done) {
          const declared = this.limits.declaredLength;
          if (declared !== undefined && this.received !== declared) return fail(controller, lengthMismatch(declared, this.received));
          this.complete = true;
          return controller.close();
        }
        const problem = this.check(chunk.value);
        if (problem) return fail(controller, problem);
        controller.enqueue(chunk.value);
      },
      cancel: (reason) => {
        cancelled = true;
        return reader.cancel(reason);
      },
    });
  }

  private check(chunk: Uint8Array): HttpError | undefined {
    this.received += chunk.byteLength;
    if (this.received > this.limits.maxBytes) return new HttpError(413, "payload_too_large", `request body is larger than ${this.limits.maxBytes} bytes`);
    const declared = this.limits.declaredLength;
    if (declared !== undefined && this.received > declared) return lengthMismatch(declared, this.received);
    if (this.delimiters) {
      // Every part starts with a delimiter, and the closing one adds one more.
      const parts = this.delimiters.push(chunk) - 1;
      if (parts > this.limits.maxParts) {
        return new HttpError(400, "bad_request", `malformed multipart request: more than ${this.limits.maxParts} parts (the upload has 2: image and category)`);
      }
    }
    return undefined;
  }
}

function lengthMismatch(declared: number, received: number): HttpError {
  return new HttpError(400, "bad_request", `Content-Length says ${declared} bytes but the body has ${received > declared ? "more" : received}`);
}

/** Counts a byte sequence's occurrences in a stream of chunks, including those split across chunks, without copying the chunks. */
export class OccurrenceCounter {
  count = 0;
  /** The last needle.length - 1 bytes seen: too short to hold a whole occurrence, long enough for the start of one. */
  private carry = Buffer.alloc(0);

  constructor(private readonly needle: Buffer) {}

  push(chunk: Uint8Array): number {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const keep = this.needle.length - 1;
    if (this.carry.length > 0) {
      // Occurrences that start in the carry and end in this chunk.
      const seam = Buffer.concat([this.carry, bytes.subarray(0, keep)]);
      for (let at = seam.indexOf(this.needle); at !== -1 && at < this.carry.length; at = seam.indexOf(this.needle, at + 1)) this.count++;
    }
    for (let at = bytes.indexOf(this.needle); at !== -1; at = bytes.indexOf(this.needle, at + this.needle.length)) this.count++;
    // A copy (concat copies), so no chunk is kept alive by the carry.
    const tail = Buffer.concat([this.carry, bytes.subarray(Math.max(0, bytes.length - keep))]);
    this.carry = tail.subarray(Math.max(0, tail.length - keep));
    return this.count;
  }
}
