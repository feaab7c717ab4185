/**
 * An OpenAI-compatible `POST /v1/chat/completions` for the benchmark: it
 * answers a valid strict-JSON completion (the test stand-in's
 * `SAMPLE_METADATA`) at once, or after `delayMs` (a model's latency).
 *
 * Not test/standins/openai.ts itself: that stand-in keeps every request body
 * (a base64 image each, hundreds of MB over a long run) and decodes every
 * image with sharp in this process, which also runs the load generator; and
 * its delays are scripted per request rather than fixed.
 */
import { SAMPLE_METADATA } from "../../test/standins/openai.ts";

export interface AiEndpoint {
  /** Base URL including /v1, as AI_BASE_URL takes it. */
  url: string;
  apiKey: string;
  model: string;
  /** Completions answered so far. */
  answered(): number;
  stop(): Promise<void>;
}

export function startAiEndpoint(options: { delayMs?: number } = {}): AiEndpoint {
  const apiKey = `bench-${crypto.randomUUID()}`;
  const content = JSON.stringify(SAMPLE_METADATA);
  let answered = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      if (request.method !== "POST" || new URL(request.url).pathname !== "/v1/chat/completions") return new Response("not found", { status: 404 });
      if (request.headers.get("authorization") !== `Bearer ${apiKey}`)
        return Response.json({ error: { message: "bad key", type: "invalid_request_error" } }, { status: 401 });
      const body = (await request.json()) as { model?: string };
      if (options.delayMs) await Bun.sleep(options.delayMs);
      answered++;
      return Response.json({
        id: `chatcmpl-${crypto.randomUUID()}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: body.model ?? "bench",
        choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, finish_reason: "stop" }],
        usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/v1`,
    apiKey,
    model: "bench-instant",
    answered: () => answered,
    async stop() {
      await server.stop(true);
    },
  };
}
