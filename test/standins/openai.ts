/**
 * A local stand-in for an OpenAI-compatible `POST /v1/chat/completions`, in
 * the dialect of one real server: OpenAI, Ollama, vLLM, llama.cpp's server,
 * LM Studio or Google's compatibility endpoint. Each checks what that server
 * would refuse, from its documentation and source (the bearer key; the
 * body's model, messages and image, decoded for real; the response formats
 * and schemas it accepts), answers errors in that server's body shape, and
 * samples as it would (a request without `temperature` is sampled at the
 * server's default, and the answer varies). Replies follow a script: content
 * (JSON or not, as a string or text parts, slow, or longer than max_tokens
 * allows), a refusal, or an error status with headers.
 */
import sharp from "sharp";

export type Dialect = "openai" | "ollama" | "vllm" | "llamacpp" | "lmstudio" | "gemini";

export interface OpenAiStandInOptions {
  /** Required bearer key; any (or none) is accepted when absent. */
  apiKey?: string;
  dialect?: Dialect;
  /** Ollama's version: json_schema is honoured from 0.5.0 on; older versions ignore it (only json_object is known). */
  version?: string;
  /** llama.cpp's server started with `--mmproj` (a vision projector); without one every image is refused. Default true. */
  visionProjector?: boolean;
  /** A slow model: every answer without a scripted `delayMs` waits this long. */
  delayMs?: number;
  /** OpenAI: the model has structured outputs (gpt-4o and later); false as gpt-4-turbo, which refuses json_schema. Default true. */
  structuredOutputs?: boolean;
}

export type TextPart = { type: "text"; text: string };

export type ScriptedReply =
  /** 200 with this message content, after `delayMs` (a slow model); `tokens`: how long the reply is (default: 4 characters a token). */
  | { kind: "content"; content: string | TextPart[]; delayMs?: number; tokens?: number }
  /** 200 with `message.refusal` and no content, as OpenAI's structured outputs refuse. */
  | { kind: "refusal"; refusal: string }
  | { kind: "error"; status: number; message?: string; code?: string; headers?: Record<string, string> };

export interface DecodedImage {
  bytes: Uint8Array;
  mimeType: string;
  format: string;
  width: number;
  height: number;
}

/** How the server held the model's output: to the schema, to any JSON, or not at all. */
export type OutputMode = "schema" | "json" | "free";

export interface RecordedChatRequest {
  /** When the request arrived (ms since the epoch). */
  receivedAt: number;
  authorization: string | null;
  body: unknown;
  /** What the stand-in found wrong with the body; a request with any is refused. */
  problems: string[];
  image: DecodedImage | null;
  /** The temperature the server sampled at: the request's, else its default. */
  temperature: number | null;
  output: OutputMode | null;
  /** null until answered, and for good when the client closed first. */
  status: number | null;
  /** Settles when the request ends: true when the client closed the connection before an answer. */
  clientClosed: Promise<boolean>;
}

export interface OpenAiStandIn {
  /** Base URL including /v1, as AI_BASE_URL takes it. */
  url: string;
  dialect: Dialect;
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

/** The services' settings to use `standIn` as their analyzer (the model name the Assets' `aiMetadata.source` records). */
export function analyzerEnv(standIn: OpenAiStandIn, apiKey: string, model = "stand-in-vision"): Record<string, string> {
  return { ANALYZER: "openai", AI_BASE_URL: standIn.url, AI_API_KEY: apiKey, AI_MODEL: model };
}

export function jsonReply(value: unknown, delayMs?: number): ScriptedReply {
  return { kind: "content", content: JSON.stringify(value), ...(delayMs ? { delayMs } : {}) };
}

/** A refusal as the server sends it: status, body and headers. */
type Refusal = { status: number; message: string; code?: string | null; headers?: Record<string, string> };

interface DialectRules {
  /** Sampling temperature when the request names none. */
  defaultTemperature: number;
  /** How the server treats the request's response_format: the output mode, or a refusal. */
  format(format: any, body: any, options: OpenAiStandInOptions): OutputMode | Refusal;
  /** The server's error body. */
  errorBody(refusal: Refusal): unknown;
  /** A refusal before the body is read (llama.cpp without a projector). */
  refuseImage?(options: OpenAiStandInOptions): Refusal | null;
}

const OPENAI_ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "invalid_request_error",
  403: "permission_denied",
  404: "invalid_request_error",
  429: "rate_limit_exceeded",
};

/** OpenAI's shape, which Ollama copies: `{"error": {message, type, param, code}}`. */
function openAiErrorBody({ status, message, code = null }: Refusal) {
  const type = code === "insufficient_quota" ? code : (OPENAI_ERROR_TYPES[status] ?? (status >= 500 ? "server_error" : "invalid_request_error"));
  return { error: { message, type, param: null, code } };
}

const DIALECTS: Record<Dialect, DialectRules> = {
  // Structured outputs: strict schemas checked through $refs; json_object needs "json" in the messages.
  openai: {
    defaultTemperature: 1,
    format(format, body, options) {
      if (format === undefined || format?.type === "text") return "free";
      if (format?.type === "json_object") {
        return JSON.stringify(body?.messages ?? [])
          .toLowerCase()
          .includes("json")
          ? "json"
          : { status: 400, message: "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'." };
      }
      if (format?.type !== "json_schema")
        return { status: 400, message: `Invalid value: '${format?.type}'. Supported values are: 'json_object', 'json_schema', and 'text'.` };
      if (options.structuredOutputs === false)
        return { status: 400, message: "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model." };
      const { name, strict, schema } = format.json_schema ?? {};
      if (typeof name !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(name))
        return { status: 400, message: "Invalid 'response_format.json_schema.name': must match ^[a-zA-Z0-9_-]{1,64}$." };
      if (strict !== true) return schema && typeof schema === "object" ? "schema" : { status: 400, message: "Missing 'response_format.json_schema.schema'." };
      const problems = strictSchemaProblems(schema);
      return problems.length ? { status: 400, message: `Invalid schema for response_format '${name}': ${problems.join("; ")}` } : "schema";
    },
    errorBody: openAiErrorBody,
  },
  // openai/openai.go: temperature defaults to 1.0; before 0.5.0 only json_object (format "json") was read.
  ollama: {
    defaultTemperature: 1,
    format(format, _body, options) {
      if (format?.type === "json_object") return "json";
      if (format?.type === "json_schema") {
        if (!atLeast(options.version ?? "0.5.0", "0.5.0")) return "free";
        return format.json_schema?.schema && typeof format.json_schema.schema === "object"
          ? "schema"
          : { status: 400, message: "invalid JSON schema in format" };
      }
      return "free";
    },
    errorBody: ({ status, message, code = null }) => ({ error: { message, type: status >= 500 ? "api_error" : "invalid_request_error", param: null, code } }),
  },
  // Guided decoding (xgrammar/outlines) follows local $refs; errors in the flat ErrorResponse shape.
  vllm: {
    defaultTemperature: 1,
    format(format) {
      if (format === undefined || format?.type === "text") return "free";
      if (format?.type === "json_object") return "json";
      if (format?.type === "json_schema") {
        return format.json_schema?.schema && typeof format.json_schema.schema === "object"
          ? "schema"
          : { status: 400, message: "response_format.json_schema.schema is required for type json_schema" };
      }
      return {
        status: 400,
        message: `1 validation error for ChatCompletionRequest response_format.type: Input should be 'text', 'json_object' or 'json_schema'`,
      };
    },
    errorBody: ({ status, message }) => ({
      object: "error",
      message,
      type: status >= 500 ? "InternalServerError" : "BadRequestError",
      param: null,
      code: status,
    }),
  },
  // tools/server: json_object (optionally with a schema) and json_schema become a grammar; images need --mmproj.
  llamacpp: {
    defaultTemperature: 0.8,
    format(format) {
      if (format === undefined || format?.type === "text") return "free";
      if (format?.type === "json_object") return format.schema ? "schema" : "json";
      if (format?.type === "json_schema") return format.json_schema?.schema ? "schema" : "json";
      return { status: 500, message: `response_format type must be one of "text" or "json_object", but got: ${format?.type}` };
    },
    errorBody: ({ status, message }) => ({ error: { code: status, message, type: status >= 500 ? "server_error" : "invalid_request_error" } }),
    refuseImage: (options) =>
      options.visionProjector === false
        ? { status: 500, message: "image input is not supported - hint: if this is unexpected, you may need to provide the mmproj" }
        : null,
  },
  // Structured output through json_schema only: json_object and text are refused, the error a bare string.
  lmstudio: {
    defaultTemperature: 0.8,
    format(format) {
      if (format === undefined) return "free";
      if (format?.type !== "json_schema") return { status: 400, message: "'response_format.type' must be 'json_schema'" };
      return format.json_schema?.schema ? "schema" : { status: 400, message: "'response_format.json_schema.schema' is required" };
    },
    errorBody: ({ message }) => ({ error: message }),
  },
  // Google's schema subset has no $ref/$defs; every error is an array of one google.rpc.Status.
  gemini: {
    defaultTemperature: 1,
    format(format) {
      if (format === undefined || format?.type === "text") return "free";
      if (format?.type === "json_object") return "json";
      if (format?.type !== "json_schema") return { status: 400, message: `Invalid value at 'response_format.type', "${format?.type}"` };
      const unknown = unknownKeyPath(format.json_schema?.schema, ["$ref", "$defs"], "generation_config.response_schema");
      return unknown
        ? { status: 400, message: `Invalid JSON payload received. Unknown name "${unknown.key}" at '${unknown.path}': Cannot find field.` }
        : "schema";
    },
    errorBody: ({ status, message }) => [
      { error: { code: status, message, status: GOOGLE_STATUS[status] ?? (status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT") } },
    ],
  },
};

const GOOGLE_STATUS: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  429: "RESOURCE_EXHAUSTED",
  503: "UNAVAILABLE",
};

export function startOpenAiStandIn(options: OpenAiStandInOptions = {}): OpenAiStandIn {
  const dialect = options.dialect ?? "openai";
  const rules = DIALECTS[dialect];
  const requests: RecordedChatRequest[] = [];
  const replies: ScriptedReply[] = [];
  const refuse = (refusal: Refusal) => Response.json(rules.errorBody(refusal), { status: refusal.status, headers: refusal.headers ?? {} });

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      if (request.method !== "POST" || path !== "/v1/chat/completions") return refuse({ status: 404, message: `Unknown route ${path}` });
      const closed = Promise.withResolvers<boolean>();
      const record: RecordedChatRequest = {
        receivedAt: Date.now(),
        authorization: request.headers.get("authorization"),
        body: null,
        problems: [],
        image: null,
        temperature: null,
        output: null,
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
      return refuse({ status: 401, message: "Incorrect API key provided.", code: "invalid_api_key" });
    }
    record.body = await request.json().catch(() => null);
    const body = (record.body ?? {}) as Record<string, any>;
    const parts = userParts(body.messages);
    if (parts.some((part) => part?.type === "image_url")) {
      const refusal = rules.refuseImage?.(options);
      if (refusal) return refuse(refusal);
    }
    const { problems, image } = await inspectBody(body, parts);
    record.problems = problems;
    record.image = image;
    if (problems.length) return refuse({ status: 400, message: problems.join("; ") });
    const output = rules.format(body.response_format, body, options);
    if (typeof output !== "string") {
      record.problems = [output.message];
      return refuse(output);
    }
    record.output = output;
    record.temperature = typeof body.temperature === "number" ? body.temperature : rules.defaultTemperature;

    const reply = replies.shift() ?? defaultReply(output, record.temperature);
    if (reply.kind === "error")
      return refuse({ status: reply.status, message: reply.message ?? `scripted ${reply.status}`, code: reply.code ?? null, headers: reply.headers ?? {} });
    if (reply.kind === "refusal") return Response.json(completion(body.model, { content: null, refusal: reply.refusal }, "stop"));
    const delayMs = reply.delayMs ?? options.delayMs;
    if (delayMs && !(await delayUnlessClosed(delayMs, request.signal))) return null;
    const limit = typeof body.max_completion_tokens === "number" ? body.max_completion_tokens : typeof body.max_tokens === "number" ? body.max_tokens : null;
    const text = typeof reply.content === "string" ? reply.content : reply.content.map((part) => part.text).join("");
    const tokens = reply.tokens ?? Math.ceil(text.length / 4);
    if (limit !== null && tokens > limit) {
      return Response.json(completion(body.model, { content: text.slice(0, Math.floor((limit / tokens) * text.length)), refusal: null }, "length"));
    }
    return Response.json(completion(body.model, { content: reply.content, refusal: null }, "stop"));
  }

  return {
    url: `http://127.0.0.1:${server.port}/v1`,
    dialect,
    requests,
    script(...next) {
      replies.push(...next);
    },
    async stop() {
      await server.stop(true);
    },
  };
}

/**
 * What a model answers when nothing is scripted: SAMPLE_METADATA, its
 * confidences drawn afresh when sampled above temperature 0, and wrapped in
 * a fence and a sentence when nothing holds it to JSON, as chat models write.
 */
function defaultReply(output: OutputMode, temperature: number): ScriptedReply {
  const jitter = (confidence: number) =>
    temperature > 0 && confidence > 0
      ? Math.round(Math.min(1, Math.max(0.05, confidence + (Math.random() - 0.5) * temperature * 0.4)) * 100) / 100
      : confidence;
  const metadata = Object.fromEntries(Object.entries(SAMPLE_METADATA).map(([key, d]) => [key, { value: d.value, confidence: jitter(d.confidence) }]));
  const json = JSON.stringify(metadata, null, output === "free" ? 2 : undefined);
  return {
    kind: "content",
    content: output === "free" ? `Here is what I can see in the photo:\n\n\`\`\`json\n${json}\n\`\`\`\n\nLet me know if you need more.` : json,
  };
}

function userParts(messages: unknown): any[] {
  return Array.isArray(messages)
    ? messages
        .filter((message) => message?.role === "user")
        .flatMap((message) =>
          Array.isArray(message.content) ? message.content : typeof message.content === "string" ? [{ type: "text", text: message.content }] : [],
        )
    : [];
}

/** Checks the body as every real server would; returns the problems found and the decoded image. */
async function inspectBody(body: Record<string, any>, parts: any[]): Promise<{ problems: string[]; image: DecodedImage | null }> {
  const problems: string[] = [];
  if (typeof body.model !== "string" || !body.model) problems.push("model is missing");
  if (!parts.some((part) => part?.type === "text" && typeof part.text === "string" && part.text.trim())) problems.push("no user text part");
  const dataUrl = parts.find((part) => part?.type === "image_url")?.image_url?.url;
  const image = typeof dataUrl === "string" ? await decodeDataUrl(dataUrl) : null;
  if (!image) problems.push("no user image_url part with a data URL of a PNG or JPEG that decodes");
  if (body.temperature !== undefined && (typeof body.temperature !== "number" || body.temperature < 0 || body.temperature > 2))
    problems.push("temperature must be a number from 0 to 2");
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

/** Keywords strict mode refuses (OpenAI's structured outputs guide: composition and conditionals). */
const STRICT_UNSUPPORTED = ["allOf", "not", "if", "then", "else", "dependentRequired", "dependentSchemas", "patternProperties"];

/**
 * OpenAI's strict-mode rules, with `$ref`s followed as OpenAI does: the root
 * is an object, and every object closes its properties and requires all of them.
 */
export function strictSchemaProblems(root: any): string[] {
  if (!root || typeof root !== "object") return ["schema is not a JSON schema"];
  if (root.type !== "object" || root.anyOf) return ["schema: the root must be an object, not anyOf"];
  const problems: string[] = [];
  const visit = (schema: any, path: string, refs: string[]): void => {
    if (!schema || typeof schema !== "object") return void problems.push(`${path} is not a JSON schema`);
    if (typeof schema.$ref === "string") {
      if (refs.includes(schema.$ref)) return; // recursion is allowed
      const target = resolvePointer(root, schema.$ref);
      if (!target) return void problems.push(`${path}: $ref ${schema.$ref} does not resolve`);
      visit(target, `${path}(${schema.$ref})`, [...refs, schema.$ref]);
      return;
    }
    for (const keyword of STRICT_UNSUPPORTED) if (keyword in schema) problems.push(`${path}: '${keyword}' is not permitted`);
    for (const [i, branch] of (schema.anyOf ?? []).entries()) visit(branch, `${path}.anyOf[${i}]`, refs);
    if (schema.items) visit(schema.items, `${path}.items`, refs);
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.includes("object")) return;
    const properties = Object.keys(schema.properties ?? {});
    if (schema.additionalProperties !== false) problems.push(`${path}: additionalProperties must be false`);
    const required = new Set(Array.isArray(schema.required) ? schema.required : []);
    const optional = properties.filter((key) => !required.has(key));
    if (optional.length) problems.push(`${path}: every property must be required (${optional.join(", ")} are not)`);
    for (const key of properties) visit(schema.properties[key], `${path}.${key}`, refs);
  };
  visit(root, "schema", []);
  return problems;
}

function resolvePointer(root: any, ref: string): any {
  if (!ref.startsWith("#")) return undefined;
  return ref
    .slice(1)
    .split("/")
    .filter(Boolean)
    .reduce((node, part) => node?.[part], root);
}

/** The first of `keys` anywhere in `schema`, with its path in Google's style (`properties[0].value`); null when there is none. */
function unknownKeyPath(schema: unknown, keys: string[], path: string): { key: string; path: string } | null {
  if (!schema || typeof schema !== "object") return null;
  const node = schema as Record<string, unknown>;
  const found = Object.keys(node).find((key) => keys.includes(key));
  if (found) return { key: found, path };
  const properties = Object.values((node.properties ?? {}) as Record<string, unknown>);
  for (const [i, value] of properties.entries()) {
    const inner = unknownKeyPath(value, keys, `${path}.properties[${i}].value`);
    if (inner) return inner;
  }
  return node.items ? unknownKeyPath(node.items, keys, `${path}.items`) : null;
}

function atLeast(version: string, minimum: string): boolean {
  const [a, b] = [version, minimum].map((v) => v.split(".").map(Number));
  for (let i = 0; i < 3; i++) if ((a![i] ?? 0) !== (b![i] ?? 0)) return (a![i] ?? 0) > (b![i] ?? 0);
  return true;
}

/** Resolves true after `ms`, or false as soon as the client closes the connection. */
function delayUnlessClosed(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => resolve(true), ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve(false)), { once: true });
  });
}

function completion(model: string, message: { content: string | TextPart[] | null; refusal: string | null }, finishReason: string) {
  return {
    id: `chatcmpl-${crypto.randomUUID()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: finishReason }],
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  };
}
