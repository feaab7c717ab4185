/**
 * One trace per upload, across the four services, with W3C `traceparent`:
 * HTTP requests carry it as a header, BullMQ jobs in their options
 * (`opts.telemetry.metadata`, BullMQ's own slot for it, so the job data
 * stays exactly the specification's fields), and every log line of the
 * active context gets its `trace_id`.
 *
 * Context propagation is always on (an AsyncLocalStorage context manager
 * and the W3C propagator: a few microseconds per request). Spans are
 * recorded and exported only when OTEL_EXPORTER_OTLP_ENDPOINT is set: then
 * the OpenTelemetry SDK is loaded (lazily, so an unset endpoint costs no
 * start-up time or memory) with a batching OTLP/HTTP exporter. Without it,
 * the API's no-op tracer only carries the incoming ids along. A job carries
 * the context only when it is sampled (see `jobTraceOptions`).
 */
import { type Context, context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, TraceFlags, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import type { Context as HonoContext, MiddlewareHandler } from "hono";

const TRACER = "collectibles-pipeline";
let shutdownHook: (() => Promise<void>) | undefined;

/**
 * Sets up propagation, and the exporting SDK when `endpoint` is set
 * (OTEL_EXPORTER_OTLP_ENDPOINT; the exporter posts to `<endpoint>/v1/traces`).
 */
export async function initTracing(service: string, endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT): Promise<void> {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  if (!endpoint) return;
  const [{ TracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
  ]);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": process.env.OTEL_SERVICE_NAME ?? service }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, "")}/v1/traces` }),
        // The specification's variable for the export interval (default 5 s).
        scheduledDelayMillis: Number(process.env.OTEL_BSP_SCHEDULE_DELAY) || 5000,
      }),
    ],
  });
  trace.setGlobalTracerProvider(provider);
  shutdownHook = () => provider.shutdown();
}

/** Flushes and stops the exporter (at shutdown); nothing to do when tracing is off. */
export async function shutdownTracing(): Promise<void> {
  await shutdownHook?.();
}

/** The active trace id, for log lines; undefined outside any trace. */
export function activeTraceId(): string | undefined {
  const spanContext = trace.getSpan(context.active())?.spanContext();
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

type Carrier = Record<string, string>;
const getter = { get: (carrier: Headers, key: string) => carrier.get(key) ?? undefined, keys: (carrier: Headers) => [...carrier.keys()] };

/**
 * The context of an incoming request: its `traceparent` when it has a valid
 * one, else a new trace. With tracing off a new trace is a random id pair
 * (not sampled), so the logs of the request and of the services it calls share one trace id.
 */
export function contextFromHeaders(headers: Headers): Context {
  const extracted = propagation.extract(ROOT_CONTEXT, headers, getter);
  if (trace.getSpan(extracted) || isRecording()) return extracted;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: randomHex(16), spanId: randomHex(8), traceFlags: TraceFlags.NONE, isRemote: true });
}

/** Adds `traceparent` (and `tracestate`) of the active context to outgoing headers. */
export function injectIntoHeaders(headers: Headers): void {
  propagation.inject(context.active(), headers, { set: (carrier, key, value) => carrier.set(key, value) });
}

/** BullMQ job options carrying the active context (merge into `queue.add` options). */
export function jobTraceOptions(): { telemetry?: { metadata: string } } {
  // Only a sampled trace (recorded here, or asked for by the caller's traceparent) is carried: the random id a request
  // gets for its logs alone would cost ~100 bytes on every AI job, which Redis keeps for a day.
  const spanContext = trace.getSpan(context.active())?.spanContext();
  if (!spanContext || !(spanContext.traceFlags & TraceFlags.SAMPLED)) return {};
  const carrier: Carrier = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? { telemetry: { metadata: JSON.stringify(carrier) } } : {};
}

/** The context a job was queued in (see `jobTraceOptions`), or a fresh one. */
export function contextFromJob(job: { opts?: { telemetry?: { metadata?: string } } }): Context {
  const metadata = job.opts?.telemetry?.metadata;
  if (!metadata) return ROOT_CONTEXT;
  try {
    return propagation.extract(ROOT_CONTEXT, JSON.parse(metadata) as Carrier);
  } catch {
    return ROOT_CONTEXT;
  }
}

export interface SpanOptions {
  parent?: Context;
  kind?: SpanKind;
  attributes?: Record<string, string | number | boolean | undefined>;
}

/** Runs `work` in a new span (a child of `parent`, else of the active context), ending it with the outcome. */
export function withSpan<T>(name: string, work: (span: Span) => Promise<T>, options: SpanOptions = {}): Promise<T> {
  const parent = options.parent ?? context.active();
  const attributes = Object.fromEntries(Object.entries(options.attributes ?? {}).filter(([, value]) => value !== undefined)) as Record<
    string,
    string | number | boolean
  >;
  return trace.getTracer(TRACER).startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes }, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

export { SpanKind };

/** A BullMQ processor run in a consumer span that continues the trace the job was queued in. */
export function tracedProcessor<J extends { id?: string; name: string; opts?: { telemetry?: { metadata?: string } } }, A extends unknown[], R>(
  queueName: string,
  processor: (job: J, ...rest: A) => Promise<R>,
): (job: J, ...rest: A) => Promise<R> {
  return (job, ...rest) =>
    withSpan(`${queueName} process`, () => processor(job, ...rest), {
      parent: contextFromJob(job),
      kind: SpanKind.CONSUMER,
      attributes: { "messaging.destination.name": queueName, "messaging.message.id": job.id, "messaging.operation.name": job.name },
    });
}

/**
 * A server span per request, continuing the caller's `traceparent`; named
 * by method and route pattern (`routeOf`, else Hono's matched route).
 */
export function traceRequests(routeOf?: (c: HonoContext) => string): MiddlewareHandler {
  return (c, next) =>
    withSpan(
      `${c.req.method} ${c.req.path}`,
      async (span) => {
        await next();
        span.updateName(`${c.req.method} ${routeOf?.(c) ?? c.req.routePath}`);
        span.setAttribute("http.response.status_code", c.res.status);
      },
      {
        parent: contextFromHeaders(c.req.raw.headers),
        kind: SpanKind.SERVER,
        attributes: { "http.request.method": c.req.method, "url.path": c.req.path },
      },
    );
}

function isRecording(): boolean {
  return shutdownHook !== undefined;
}

function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}
