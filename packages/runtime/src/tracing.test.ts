import { describe, expect, test } from "bun:test";
import { context } from "@opentelemetry/api";
import { createLogger } from "./logger.ts";
import { activeTraceId, contextFromHeaders, contextFromJob, initTracing, injectIntoHeaders, jobTraceOptions, withSpan } from "./tracing.ts";

// Tracing off (no endpoint): ids are carried along, nothing is recorded.
await initTracing("tracing-test", "");

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const INCOMING = new Headers({ traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` });

describe("trace propagation with tracing off", () => {
  test("a request's traceparent is continued through spans, job options and outgoing headers", async () => {
    await withSpan(
      "request",
      async () => {
        expect(activeTraceId()).toBe(TRACE_ID);
        const outgoing = new Headers();
        injectIntoHeaders(outgoing);
        expect(outgoing.get("traceparent")).toContain(TRACE_ID);
        const options = jobTraceOptions();
        await withSpan("job", async () => expect(activeTraceId()).toBe(TRACE_ID), { parent: contextFromJob({ opts: options }) });
      },
      { parent: contextFromHeaders(INCOMING) },
    );
    expect(activeTraceId()).toBeUndefined();
  });

  test("a request without one starts a new trace, different each time", () => {
    const a = context.with(contextFromHeaders(new Headers()), activeTraceId);
    const b = context.with(contextFromHeaders(new Headers({ traceparent: "garbage" })), activeTraceId);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(b).toMatch(/^[0-9a-f]{32}$/);
    expect(a).not.toBe(b);
  });

  test("a job queued outside any trace, or with broken metadata, starts none", () => {
    expect(jobTraceOptions()).toEqual({});
    // A request's own unsampled id (for its logs) is not worth its bytes on a job Redis keeps for a day.
    expect(context.with(contextFromHeaders(new Headers()), jobTraceOptions)).toEqual({});
    expect(context.with(contextFromHeaders(new Headers({ traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-00` })), jobTraceOptions)).toEqual({});
    expect(context.with(contextFromJob({ opts: { telemetry: { metadata: "{not json" } } }), activeTraceId)).toBeUndefined();
  });

  test("log lines in a trace carry its trace_id, others none", async () => {
    const lines: string[] = [];
    const logger = createLogger("tracing-test", "info", { write: (line: string) => void lines.push(line) });
    logger.info("outside");
    await withSpan("request", async () => logger.info("inside"), { parent: contextFromHeaders(INCOMING) });
    const [outside, inside] = lines.map((line) => JSON.parse(line));
    expect(outside.trace_id).toBeUndefined();
    expect(inside.trace_id).toBe(TRACE_ID);
  });
});
