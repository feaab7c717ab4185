/**
 * OpenAiAnalyzer against each server dialect the stand-in speaks (OpenAI,
 * Ollama by version, vLLM, llama.cpp with and without a vision projector,
 * LM Studio, Google's compatibility endpoint), and the failures every
 * server can send: refusals, quotas, truncation, Retry-After, odd content.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PermanentError, RetryLaterError, TransientError } from "@pipeline/runtime/errors";
import sharp from "sharp";
import { buildCalibrationMap, type CalibrationMap } from "../../services/ai-worker/src/analyzer/calibration.ts";
import { retryAfterMs } from "../../services/ai-worker/src/analyzer/openai/errors.ts";
import { MAX_TOKENS_RETRY, OpenAiAnalyzer, openAiConfigSchema } from "../../services/ai-worker/src/analyzer/openai.ts";
import { type Dialect, jsonReply, type OpenAiStandIn, type OpenAiStandInOptions, SAMPLE_METADATA, startOpenAiStandIn } from "../standins/openai.ts";

let cutout: Uint8Array;
const started: OpenAiStandIn[] = [];

beforeAll(async () => {
  const item = await sharp({ create: { width: 300, height: 200, channels: 4, background: "#d22f" } })
    .png()
    .toBuffer();
  cutout = new Uint8Array(
    await sharp({ create: { width: 600, height: 400, channels: 4, background: "#0000" } })
      .composite([{ input: item, gravity: "centre" }])
      .png()
      .toBuffer(),
  );
});
afterAll(() => Promise.all(started.map((s) => s.stop())));

function serve(options: OpenAiStandInOptions): OpenAiStandIn {
  const standIn = startOpenAiStandIn(options);
  started.push(standIn);
  return standIn;
}

function analyzerFor(standIn: OpenAiStandIn, calibration: CalibrationMap | null = null): OpenAiAnalyzer {
  return new OpenAiAnalyzer(openAiConfigSchema.parse({ AI_BASE_URL: standIn.url, AI_MODEL: "vision-model" }), { calibration });
}

function analyze(analyzer: OpenAiAnalyzer, cutoutConfidence?: number) {
  return analyzer.analyze({
    original: cutout,
    cutout,
    category: "sneaker",
    signal: AbortSignal.timeout(10_000),
    ...(cutoutConfidence === undefined ? {} : { cutoutConfidence }),
  });
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error as Error,
  );

/** A raw request to a stand-in, as another client might send it. */
async function rawRequest(standIn: OpenAiStandIn, body: Record<string, unknown>): Promise<{ status: number; json: any }> {
  const image = `data:image/png;base64,${Buffer.from(cutout).toString("base64")}`;
  const response = await fetch(`${standIn.url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "m",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is it? Answer in JSON." },
            { type: "image_url", image_url: { url: image } },
          ],
        },
      ],
      ...body,
    }),
  });
  return { status: response.status, json: await response.json() };
}

const formatOf = (standIn: OpenAiStandIn, index: number) => {
  const format = (standIn.requests[index]!.body as { response_format?: { type: string; json_schema?: { strict?: boolean } } }).response_format;
  return format === undefined ? "prompt" : format.type === "json_object" ? "object" : format.json_schema?.strict ? "strict" : "schema";
};

describe("each dialect analyses a photo at temperature 0", () => {
  test.each<[string, OpenAiStandInOptions, string, string]>([
    ["OpenAI", { dialect: "openai" }, "strict", "schema"],
    ["Ollama 0.5", { dialect: "ollama", version: "0.5.0" }, "strict", "schema"],
    ["Ollama 0.4 (json_schema ignored: a fenced reply)", { dialect: "ollama", version: "0.4.7" }, "strict", "free"],
    ["vLLM", { dialect: "vllm" }, "strict", "schema"],
    ["llama.cpp with --mmproj", { dialect: "llamacpp" }, "strict", "schema"],
    ["LM Studio", { dialect: "lmstudio" }, "strict", "schema"],
    ["Google (the schema's $refs inlined)", { dialect: "gemini" }, "strict", "schema"],
  ])("%s", async (_, options, format, output) => {
    const standIn = serve(options);
    expect(await analyze(analyzerFor(standIn))).toEqual(SAMPLE_METADATA);
    expect(standIn.requests).toHaveLength(1);
    expect(formatOf(standIn, 0)).toBe(format);
    expect(standIn.requests[0]).toMatchObject({ temperature: 0, output, problems: [] });
  });
});

describe("the stand-ins are as strict as the servers", () => {
  test.each<[Dialect, number]>([
    ["openai", 1],
    ["ollama", 1],
    ["vllm", 1],
    ["llamacpp", 0.8],
    ["lmstudio", 0.8],
    ["gemini", 1],
  ])("%s samples at %d without a temperature, and its answers vary", async (dialect, temperature) => {
    const standIn = serve({ dialect });
    const answers = new Set<string>();
    for (let i = 0; i < 5; i++) answers.add(JSON.stringify((await rawRequest(standIn, {})).json.choices[0].message.content));
    expect(standIn.requests.every((r) => r.temperature === temperature)).toBe(true);
    // Sampled confidences are rounded and clamped, so two may agree; five alike would mean no sampling.
    expect(answers.size).toBeGreaterThan(1);
  });

  test("OpenAI checks strict mode through $refs: a referenced object that is not closed is refused", async () => {
    const schema = {
      type: "object",
      properties: { brand: { $ref: "#/$defs/D" } },
      required: ["brand"],
      additionalProperties: false,
      $defs: { D: { type: "object", properties: { value: { type: "string" } } } },
    };
    const { status, json } = await rawRequest(serve({ dialect: "openai" }), {
      response_format: { type: "json_schema", json_schema: { name: "x", strict: true, schema } },
    });
    expect(status).toBe(400);
    expect(json.error.message).toContain("schema.brand(#/$defs/D): additionalProperties must be false");
    expect(json.error.message).toContain("every property must be required (value are not)");
  });

  test("OpenAI refuses json_object when no message names JSON", async () => {
    const standIn = serve({ dialect: "openai" });
    const response = await fetch(`${standIn.url}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({
        model: "m",
        response_format: { type: "json_object" },
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is it?" },
              { type: "image_url", image_url: { url: `data:image/png;base64,${Buffer.from(cutout).toString("base64")}` } },
            ],
          },
        ],
      }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error.message).toContain("must contain the word 'json'");
  });

  test("Google refuses $ref and answers errors as an array", async () => {
    const schema = { type: "object", properties: { model: { type: "string" }, brand: { $ref: "#/properties/model" } } };
    const { status, json } = await rawRequest(serve({ dialect: "gemini" }), { response_format: { type: "json_schema", json_schema: { name: "x", schema } } });
    expect(status).toBe(400);
    expect(json).toEqual([
      {
        error: {
          code: 400,
          message: `Invalid JSON payload received. Unknown name "$ref" at 'generation_config.response_schema.properties[1].value': Cannot find field.`,
          status: "INVALID_ARGUMENT",
        },
      },
    ]);
  });

  test("LM Studio refuses json_object with a bare-string error", async () => {
    const { status, json } = await rawRequest(serve({ dialect: "lmstudio" }), { response_format: { type: "json_object" } });
    expect(status).toBe(400);
    expect(json).toEqual({ error: "'response_format.type' must be 'json_schema'" });
  });

  test("Ollama before 0.5 ignores json_schema: the model writes prose around a fence", async () => {
    const standIn = serve({ dialect: "ollama", version: "0.4.7" });
    const { json } = await rawRequest(standIn, {
      temperature: 0,
      response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object" } } },
    });
    expect((json as any).choices[0].message.content).toMatch(/^Here is[\s\S]*```json\n\{[\s\S]*\}\n```/);
    expect(standIn.requests[0]?.output).toBe("free");
  });
});

describe("llama.cpp's server without a vision projector", () => {
  test("refuses the image with a 500 naming mmproj: a PermanentError after one request", async () => {
    const standIn = serve({ dialect: "llamacpp", visionProjector: false });
    const error = await failure(analyze(analyzerFor(standIn)));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error?.message).toContain("mmproj");
    expect(error?.message).toContain("no vision projector");
    expect(standIn.requests).toHaveLength(1);
  });
});

describe("a refused response format steps down, remembered per endpoint", () => {
  test("OpenAI without structured outputs (gpt-4-turbo): strict, then non-strict json_schema, then json_object; the next job starts there", async () => {
    const standIn = serve({ dialect: "openai", structuredOutputs: false });
    const analyzer = analyzerFor(standIn);
    expect(await analyze(analyzer)).toEqual(SAMPLE_METADATA);
    expect(standIn.requests.map((_, i) => formatOf(standIn, i))).toEqual(["strict", "schema", "object"]);
    const prompt = (standIn.requests[2]!.body as any).messages[0].content[0].text as string;
    expect(prompt).toContain('"additionalProperties":false');

    expect(await analyze(analyzer)).toEqual(SAMPLE_METADATA);
    expect(standIn.requests.map((_, i) => formatOf(standIn, i))).toEqual(["strict", "schema", "object", "object"]);
    // Another endpoint is not affected.
    const other = serve({ dialect: "openai" });
    await analyze(analyzerFor(other));
    expect(formatOf(other, 0)).toBe("strict");
  });

  test("llama.cpp's 500 naming the response format is a refusal of the format, not a retry", async () => {
    const standIn = serve({ dialect: "llamacpp" });
    standIn.script({ kind: "error", status: 500, message: 'response_format type must be one of "text" or "json_object", but got: json_schema' });
    standIn.script({ kind: "error", status: 500, message: 'response_format type must be one of "text" or "json_object", but got: json_schema' });
    expect(await analyze(analyzerFor(standIn))).toEqual(SAMPLE_METADATA);
    expect(standIn.requests.map((_, i) => formatOf(standIn, i))).toEqual(["strict", "schema", "object"]);
  });

  test("with every format refused it is a PermanentError", async () => {
    const standIn = serve({ dialect: "lmstudio" });
    const refusal = { kind: "error" as const, status: 400, message: "'response_format.type' must be 'json_schema'" };
    standIn.script(refusal, refusal, refusal, { kind: "error", status: 400, message: "the schema cannot be compiled" });
    const error = await failure(analyze(analyzerFor(standIn)));
    expect(error).toBeInstanceOf(PermanentError);
    expect(standIn.requests.map((_, i) => formatOf(standIn, i))).toEqual(["strict", "schema", "object", "prompt"]);
  });
});

describe("errors in every dialect's body shape", () => {
  test.each<Dialect>(["openai", "ollama", "vllm", "llamacpp", "lmstudio", "gemini"])("%s: a 400's message reaches the error", async (dialect) => {
    const standIn = serve({ dialect });
    standIn.script({ kind: "error", status: 400, message: "image too small" });
    const error = await failure(analyze(analyzerFor(standIn)));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error?.message).toBe("openai answered 400: image too small (the request was refused)");
  });

  test("insufficient_quota, sent as a 429, is a PermanentError", async () => {
    const standIn = serve({ dialect: "openai" });
    standIn.script({
      kind: "error",
      status: 429,
      code: "insufficient_quota",
      message: "You exceeded your current quota, please check your plan and billing details.",
    });
    const error = await failure(analyze(analyzerFor(standIn)));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error?.message).toContain("quota is exhausted");
  });

  test("a refusal (message.refusal) is a PermanentError", async () => {
    const standIn = serve({ dialect: "openai" });
    standIn.script({ kind: "refusal", refusal: "I can't help with that." });
    const error = await failure(analyze(analyzerFor(standIn)));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error?.message).toContain("I can't help with that.");
  });

  test.each<[string, Record<string, string>, number]>([
    ["Retry-After in seconds", { "retry-after": "4" }, 4000],
    ["retry-after-ms", { "retry-after-ms": "1500", "retry-after": "2" }, 1500],
  ])("a 429 with %s is a RetryLaterError with its delay", async (_, headers, delayMs) => {
    const standIn = serve({ dialect: "openai" });
    standIn.script({ kind: "error", status: 429, message: "Rate limit reached", headers });
    const error = await failure(analyze(analyzerFor(standIn)));
    expect(error).toBeInstanceOf(RetryLaterError);
    expect((error as RetryLaterError).delayMs).toBe(delayMs);
  });

  test("Retry-After as an HTTP date", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(retryAfterMs(new Headers({ "retry-after": "Wed, 01 Jan 2025 00:00:04 GMT" }), now)).toBe(4000);
    expect(retryAfterMs(new Headers({ "retry-after": "soon" }), now)).toBeNull();
  });

  test("a 503 without Retry-After stays an ordinary TransientError", async () => {
    const standIn = serve({ dialect: "vllm" });
    standIn.script({ kind: "error", status: 503, message: "overloaded" });
    const error = await failure(analyze(analyzerFor(standIn)));
    expect(error).toBeInstanceOf(TransientError);
    expect(error).not.toBeInstanceOf(RetryLaterError);
  });
});

describe("replies", () => {
  test("a reply cut off at max_tokens is retried once with more room", async () => {
    const standIn = serve({ dialect: "ollama" });
    standIn.script({ ...jsonReply(SAMPLE_METADATA), tokens: 1000 } as never);
    expect(await analyze(analyzerFor(standIn))).toEqual(SAMPLE_METADATA);
    expect((standIn.requests[1]!.body as any).max_tokens).toBe(MAX_TOKENS_RETRY);
  });

  test("a reply still cut off with more room is a PermanentError", async () => {
    const standIn = serve({ dialect: "vllm" });
    const long = { kind: "content" as const, content: JSON.stringify(SAMPLE_METADATA), tokens: 5000 };
    standIn.script(long, long);
    const error = await failure(analyze(analyzerFor(standIn)));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error?.message).toContain("cut off");
    expect(standIn.requests).toHaveLength(2);
  });

  test.each([
    ["a Markdown fence", "```json\n" + JSON.stringify(SAMPLE_METADATA) + "\n```"],
    ["prose around the object", `Sure, here it is: ${JSON.stringify(SAMPLE_METADATA)} Hope that helps {:}`],
  ])("JSON in %s is taken out", async (_, content) => {
    const standIn = serve({ dialect: "openai" });
    standIn.script({ kind: "content", content });
    expect(await analyze(analyzerFor(standIn))).toEqual(SAMPLE_METADATA);
  });

  test("content as an array of text parts", async () => {
    const standIn = serve({ dialect: "openai" });
    const json = JSON.stringify(SAMPLE_METADATA);
    standIn.script({
      kind: "content",
      content: [
        { type: "text", text: json.slice(0, 20) },
        { type: "text", text: json.slice(20) },
      ],
    });
    expect(await analyze(analyzerFor(standIn))).toEqual(SAMPLE_METADATA);
  });
});

describe("confidences", () => {
  const reply = {
    brand: { value: null, confidence: 0.95 },
    model: { value: "Air Max 90", confidence: 0.2 },
    colorway: { value: "Red/White", confidence: 0.8 },
  };

  test("a null value has confidence 0, one below the threshold is nulled, the cut-out's confidence scales the colorway's", async () => {
    const standIn = serve({ dialect: "openai" });
    standIn.script(jsonReply(reply));
    expect(await analyze(analyzerFor(standIn), 0.5)).toEqual({
      brand: { value: null, confidence: 0 },
      model: { value: null, confidence: 0 },
      colorway: { value: "Red/White", confidence: 0.4 },
    });
  });

  test("a calibration map turns the model's confidence into observed accuracy, and the source says so", async () => {
    const claims = Array.from({ length: 10 }, (_, i) => ({ attribute: "colorway" as const, confidence: 0.85, right: i < 4 }));
    const map = buildCalibrationMap(claims, { model: "vision-model", measuredAt: new Date().toISOString(), evaluation: { seed: 1, images: 10 } });
    const standIn = serve({ dialect: "openai" });
    standIn.script(jsonReply(reply));
    const analyzer = analyzerFor(standIn, map);
    expect((await analyze(analyzer)).colorway).toEqual({ value: "Red/White", confidence: 0.417 });
    expect(analyzer.source).toEqual({ analyzer: "openai", model: "vision-model", calibrated: true });
    expect(analyzerFor(standIn).source.calibrated).toBe(false);
  });
});
