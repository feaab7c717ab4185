/**
 * A local stand-in for an OpenAI-compatible `POST /v1/chat/completions`. It
 * checks what a real server would refuse (the bearer key; the body's model,
 * messages, image data URL and strict json_schema response format, the image
 * decoded for real) and answers from a script: a reply's content (valid JSON
 * or not, optionally slow) or an error status with OpenAI's error body.
 */
import sharp from "sharp";

export interface OpenAiStandInOptions {
  /** Required bearer key; any (or none) is accepted when absent. */
  apiKey?: string;
}

export type ScriptedReply =
  /** 200 with this message content, after `delayMs` (a slow model). */
  { kind: "content"; content: string; delayMs?: number } | { kind: "error"; status: number; message?: string };

export interface DecodedImage {
  bytes: Uint8Array;
  mimeType: string;
  format: string;
  width: number;
  height: number;
}

export interface RecordedChatRequest {
  /** When the request arrived (ms since the epoch). */
  receivedAt: number;
  authorization: string | null;
  body: unknown;
  /** What the stand-in found wrong with the body; a request with any gets 400. */
  problems: string[];
  image: DecodedImage | null;
  /** null until answered, and for good when the client closed first. */
  status: number | null;
  /** Settles when the request ends: true when the client closed the connection before an answer. */
  clientClosed: Promise<boolean>;
}

export interface OpenAiStandIn {
  /** Base URL including /v1, as AI_BASE_URL takes it. */
  url: string;
  requests: RecordedChatRequest[];
  /** Queues the answer to the next request; with none queued, `SAMPLE_METADATA` is the content. */
  script(...replies: ScriptedReply[]): void;
  stop(): Promise<void>;
}

export const SAMPLE_METADATA = {
  brand: { value: "Nike", confidence: 0.93 },
  model: { value: "Air Jordan 1 High OG", confidence: 0.81 },
  colorway: { value: null, confidence: 0 },
};

export function jsonReply(value: unknown, delayMs?: number): ScriptedReply {
  return { kind: "content", content: JSON.stringify(value), ...(delayMs ? { delayMs } : {}) };
}

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "invalid_request_error",
  403: "permission_denied",
  429: "rate_limit_exceeded",
};

export function startOpenAiStandIn(options: OpenAiStandInOptions = {}): OpenAiStandIn {
  const requests: RecordedChatRequest[] = [];
  const replies: ScriptedReply[] = [];

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      if (request.method !== "POST" || path !== "/v1/chat/completions") return openAiError(404, `Unknown route ${path}`);
      const closed = Promise.withResolvers<boolean>();
      const record: RecordedChatRequest = {
        receivedAt: Date.now(),
        authorization: request.headers.get("authorization"),
        body: null,
        problems: [],
        image: null,
        status: null,
        clientClosed: closed.promise,
      };
      requests.push(record);
      const response = await answer(request, record);
      closed.resolve(response === null);
      if (!response) return new Response(null); // nobody is listening any more
      record.status = response.status;
      return response;
    },
  });

  /** The answer, or null when the client closed the connection while a slow reply was pending. */
  async function answer(request: Request, record: RecordedChatRequest): Promise<Response | null> {
    if (options.apiKey && record.authorization !== `Bearer ${options.apiKey}`) {
      return openAiError(401, "Incorrect API key provided.", "invalid_api_key");
    }
    record.body = await request.json().catch(() => null);
    const { problems, image } = await inspectBody(record.body);
    record.problems = problems;
    record.image = image;
    if (problems.length) return openAiError(400, problems.join("; "));

    const reply = replies.shift() ?? jsonReply(SAMPLE_METADATA);
    if (reply.kind === "error") return openAiError(reply.status, reply.message ?? `scripted ${reply.status}`);
    if (reply.delayMs && !(await delayUnlessClosed(reply.delayMs, request.signal))) return null;
    return Response.json(completion((record.body as { model: string }).model, reply.content));
  }

  return {
    url: `http://127.0.0.1:${server.port}/v1`,
    requests,
    script(...next) {
      replies.push(...next);
    },
    async stop() {
      await server.stop(true);
    },
  };
}

/** Checks the body as a real server would; returns the problems found and the decoded image. */
async function inspectBody(body: unknown): Promise<{ problems: string[]; image: DecodedImage | null }> {
  const problems: string[] = [];
  const { model, messages, response_format: format } = (body ?? {}) as Record<string, any>;
  if (typeof model !== "string" || !model) problems.push("model is missing");

  const parts: any[] = Array.isArray(messages)
    ? messages.filter((message) => message?.role === "user").flatMap((message) => (Array.isArray(message.content) ? message.content : []))
    : [];
  if (!parts.some((part) => part?.type === "text" && typeof part.text === "string" && part.text.trim())) {
    problems.push("no user text part");
  }
  const dataUrl = parts.find((part) => part?.type === "image_url")?.image_url?.url;
  const image = typeof dataUrl === "string" ? await decodeDataUrl(dataUrl) : null;
  if (!image) problems.push("no user image_url part with a data URL of a PNG or JPEG that decodes");

  if (format?.type !== "json_schema") problems.push("response_format.type is not json_schema");
  const { name, strict, schema } = format?.json_schema ?? {};
  if (typeof name !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(name)) problems.push("json_schema.name is invalid");
  if (strict !== true) problems.push("json_schema.strict is not true");
  problems.push(...strictSchemaProblems(schema, "schema"));
  return { problems, image };
}

async function decodeDataUrl(url: string): Promise<DecodedImage | null> {
  const match = /^data:(image\/(?:png|jpeg));base64,([A-Za-z0-9+/=]+)$/.exec(url);
  if (!match) return null;
  const bytes = new Uint8Array(Buffer.from(match[2]!, "base64"));
  const metadata = await sharp(bytes)
    .metadata()
    .catch(() => null);
  const declared = match[1]!.slice("image/".length);
  if (!metadata?.width || !metadata.height || metadata.format !== declared) return null;
  return { bytes, mimeType: match[1]!, format: metadata.format, width: metadata.width, height: metadata.height };
}

/** Strict mode's rules: every object closes its properties and requires all of them. */
function strictSchemaProblems(schema: any, path: string): string[] {
  if (!schema || typeof schema !== "object") return [`${path} is not a JSON schema`];
  if (schema.type !== "object") return [];
  const problems: string[] = [];
  const properties = Object.keys(schema.properties ?? {});
  if (schema.additionalProperties !== false) problems.push(`${path}: additionalProperties must be false`);
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const optional = properties.filter((key) => !required.has(key));
  if (optional.length) problems.push(`${path}: every property must be required (${optional.join(", ")} are not)`);
  for (const key of properties) problems.push(...strictSchemaProblems(schema.properties[key], `${path}.${key}`));
  return problems;
}

/** Resolves true after `ms`, or false as soon as the client closes the connection. */
function delayUnlessClosed(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => resolve(true), ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve(false)), { once: true });
  });
}

function completion(model: string, content: string) {
  return {
    id: `chatcmpl-${crypto.randomUUID()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, finish_reason: "stop" }],
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  };
}

function openAiError(status: number, message: string, code: string | null = null): Response {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? "server_error" : "invalid_request_error");
  return Response.json({ error: { message, type, param: null, code } }, { status });
}
