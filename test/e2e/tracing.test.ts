/**
 * One upload, one trace: with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a
 * local OTLP/HTTP receiver, the spans of a single upload (sent with a W3C
 * traceparent) arrive from all four services under that trace id, linked
 * parent to child: the gateway's request, ingest's request, the ai-worker's
 * job and its stages, the notifier's emit.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { productPhoto } from "../helpers/images.ts";
import { waitForEvent } from "../helpers/outcomes.ts";
import { connectRecording, eventually, type RecordingSocket } from "../helpers/sockets.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
}

/** A minimal OTLP/HTTP (JSON) trace receiver: what the OpenTelemetry JS exporter posts to /v1/traces. */
function startOtlpReceiver() {
  const spans: ReceivedSpan[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      if (request.method !== "POST" || new URL(request.url).pathname !== "/v1/traces") return new Response("not found", { status: 404 });
      const raw = new Uint8Array(await request.arrayBuffer());
      const body = request.headers.get("content-encoding") === "gzip" ? Bun.gunzipSync(raw) : raw;
      const payload = JSON.parse(new TextDecoder().decode(body));
      for (const resourceSpans of payload.resourceSpans ?? []) {
        const attributes: { key: string; value: { stringValue?: string } }[] = resourceSpans.resource?.attributes ?? [];
        const service = attributes.find((attribute) => attribute.key === "service.name")?.value.stringValue ?? "?";
        for (const scope of resourceSpans.scopeSpans ?? [])
          for (const span of scope.spans ?? [])
            spans.push({ service, traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId ?? "", name: span.name });
      }
      return Response.json({});
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, spans, close: () => server.stop(true) };
}

const TRACE_ID = crypto.getRandomValues(new Uint8Array(16)).reduce((hex, byte) => hex + byte.toString(16).padStart(2, "0"), "");
let stack: Stack;
let receiver: ReturnType<typeof startOtlpReceiver>;
let socket: RecordingSocket;
const user = newUserId();

beforeAll(async () => {
  receiver = startOtlpReceiver();
  stack = await Stack.start({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: "100" } });
  stack.onStop(receiver);
  const token = await tokenFor(user);
  socket = stack.onStop(await connectRecording(stack.get("notifier").url, token));
  const form = new FormData();
  form.append("image", new File([(await productPhoto({ format: "png" })) as BlobPart], "item.png", { type: "image/png" }));
  form.append("category", "sneaker");
  const response = await fetch(`${stack.gatewayUrl}/api/assets/analyze-queue`, {
    method: "POST",
    body: form,
    headers: { authorization: `Bearer ${token}`, traceparent: `00-${TRACE_ID}-a1b2c3d4e5f60718-01` },
  });
  expect(response.status).toBe(202);
  const { assetId } = await response.json();
  await waitForEvent(socket, assetId);
  const services = () => new Set(receiver.spans.filter((span) => span.traceId === TRACE_ID).map((span) => span.service));
  await eventually(() => services().size === 4, 20_000, "spans of the upload's trace from all four services");
}, 120_000);

afterAll(() => stack?.stop());

describe("one upload, one trace", () => {
  test("spans from the gateway, ingest, the ai-worker and the notifier share the upload's trace id", () => {
    const spans = receiver.spans.filter((span) => span.traceId === TRACE_ID);
    const byService: Record<string, ReceivedSpan[]> = {};
    for (const span of spans) byService[span.service] = [...(byService[span.service] ?? []), span];
    expect(Object.keys(byService).sort()).toEqual(["ai-worker", "gateway", "ingest", "notifier"]);
    expect(byService.gateway?.map((span) => span.name)).toContain("POST /api/assets/analyze-queue");
    expect(byService["ai-worker"]?.map((span) => span.name)).toEqual(
      expect.arrayContaining(["ai-processing process", "stage download", "stage background", "stage analysis", "stage store"]),
    );
    expect(byService.notifier?.map((span) => span.name)).toContain("asset-outcomes process");
  });

  test("they form one tree: every span's parent is the client's span or another span of the trace", () => {
    const spans = receiver.spans.filter((span) => span.traceId === TRACE_ID);
    const ids = new Set(spans.map((span) => span.spanId));
    for (const span of spans) expect(span.parentSpanId === "a1b2c3d4e5f60718" || ids.has(span.parentSpanId)).toBe(true);
    // The gateway's span is the child of the client's; ingest's of the gateway's.
    const gateway = spans.find((span) => span.service === "gateway");
    const ingest = spans.find((span) => span.service === "ingest" && span.name.startsWith("POST"));
    expect(gateway?.parentSpanId).toBe("a1b2c3d4e5f60718");
    expect(ingest?.parentSpanId).toBe(gateway?.spanId);
  });

  test("no span of another trace claims a parent in this one", () => {
    const ids = new Set(receiver.spans.filter((span) => span.traceId === TRACE_ID).map((span) => span.spanId));
    const strays = receiver.spans.filter((span) => span.traceId !== TRACE_ID && ids.has(span.parentSpanId));
    expect(strays).toEqual([]);
  });
});
