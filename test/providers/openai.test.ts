/**
 * OpenAiAnalyzer through plain fetch against the local OpenAI-compatible
 * stand-in (no network).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PermanentError, TransientError } from "@pipeline/runtime/errors";
import sharp from "sharp";
import { MAX_TOKENS, OpenAiAnalyzer, openAiConfigSchema } from "../../services/ai-worker/src/analyzer/openai.ts";
import { jsonReply, type OpenAiStandIn, SAMPLE_METADATA, startOpenAiStandIn } from "../standins/openai.ts";

const API_KEY = "sk-standin";
let standIn: OpenAiStandIn;
let analyzer: OpenAiAnalyzer;
let cutout: Uint8Array;

beforeAll(async () => {
  standIn = startOpenAiStandIn({ apiKey: API_KEY });
  analyzer = analyzerFor(standIn.url, API_KEY);
  cutout = await sampleCutout();
});
afterAll(() => standIn.stop());

function analyzerFor(baseUrl: string, apiKey?: string): OpenAiAnalyzer {
  return new OpenAiAnalyzer(openAiConfigSchema.parse({ AI_BASE_URL: baseUrl, AI_API_KEY: apiKey }));
}

/** A 2000x1500 PNG with alpha: a transparent background around an opaque red item. */
async function sampleCutout(): Promise<Uint8Array> {
  const item = await sharp({ create: { width: 1000, height: 750, channels: 4, background: "#d22f" } })
    .png()
    .toBuffer();
  const image = sharp({ create: { width: 2000, height: 1500, channels: 4, background: "#0000" } }).composite([{ input: item, gravity: "centre" }]);
  return new Uint8Array(await image.png().toBuffer());
}

function analyze(target = analyzer, signal = AbortSignal.timeout(10_000)) {
  return target.analyze({ original: cutout, cutout, category: "sneaker", signal });
}

describe("OpenAiAnalyzer", () => {
  test("a good reply is parsed into the metadata", async () => {
    standIn.script(jsonReply(SAMPLE_METADATA));
    expect(await analyze()).toEqual(SAMPLE_METADATA);
    expect(standIn.requests.at(-1)?.status).toBe(200);
  });

  test("the request carries the key, the model, temperature 0, the prompt, a JPEG data URL and a strict json_schema with no $ref", async () => {
    await analyze();
    const request = standIn.requests.at(-1)!;
    expect(request.problems).toEqual([]);
    expect(request.authorization).toBe(`Bearer ${API_KEY}`);
    const body = request.body as any;
    expect(body.model).toBe("gpt-4o-mini");
    expect(body.temperature).toBe(0);
    expect(body.max_tokens).toBe(MAX_TOKENS);
    expect(JSON.stringify(body.response_format)).not.toMatch(/\$ref|\$defs|\$schema/);
    expect(body.response_format).toMatchObject({ type: "json_schema", json_schema: { name: "extracted_metadata", strict: true } });
    expect(body.response_format.json_schema.schema.required).toEqual(["brand", "model", "colorway"]);
    const text = body.messages[0].content.find((part: any) => part.type === "text").text;
    expect(text).toContain("sneaker");
    expect(text).toMatch(/brand, model and colorway/);
    expect(request.image).toMatchObject({ mimeType: "image/jpeg", format: "jpeg", width: 1024, height: 768 });
  });

  test("the cutout is flattened on white, not on black", async () => {
    await analyze();
    const image = standIn.requests.at(-1)!.image!;
    const { data } = await sharp(image.bytes).raw().toBuffer({ resolveWithObject: true });
    expect([...data.subarray(0, 3)].every((channel) => channel > 245)).toBe(true);
  });

  test("the stand-in refuses a body without text or image (its checks are live)", async () => {
    const response = await fetch(`${standIn.url}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: [], response_format: { type: "json_object" } }),
    });
    expect(response.status).toBe(400);
    expect(standIn.requests.at(-1)?.problems).toEqual(["no user text part", "no user image_url part with a data URL of a PNG or JPEG that decodes"]);
  });

  test("no Authorization header is sent when no key is configured", async () => {
    const open = startOpenAiStandIn();
    try {
      expect(await analyze(analyzerFor(open.url))).toEqual(SAMPLE_METADATA);
      expect(open.requests.at(-1)?.authorization).toBeNull();
    } finally {
      await open.stop();
    }
  });

  test.each([
    ["content with no JSON in it", "Sure! The brand is Nike."],
    ["a confidence above 1 (nothing is clamped)", JSON.stringify({ ...SAMPLE_METADATA, brand: { value: "Nike", confidence: 1.4 } })],
    ["a missing field", JSON.stringify({ brand: SAMPLE_METADATA.brand, model: SAMPLE_METADATA.model })],
  ])("a malformed reply (%s) is a TransientError", async (_, content) => {
    standIn.script({ kind: "content", content });
    const error = await analyze().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain("malformed");
  });

  test("a slow reply is aborted by the signal's timeout, and the stand-in sees the connection closed", async () => {
    standIn.script(jsonReply(SAMPLE_METADATA, 10_000));
    const started = performance.now();
    const error = await analyze(analyzer, AbortSignal.timeout(300)).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(TransientError);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2_000);
    const slow = standIn.requests.at(-1)!;
    // Settles false only when the 10 s reply went out: an open connection fails the test.
    expect(await slow.clientClosed).toBe(true);
    expect(slow.status).toBeNull();
  }, 5_000);

  test.each([408, 409, 429, 500, 503])("status %d is a TransientError", async (status) => {
    standIn.script({ kind: "error", status });
    const error = await analyze().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain(`answered ${status}: scripted ${status}`);
  });

  test.each([400, 401, 403, 404, 413, 422])("status %d is a PermanentError", async (status) => {
    standIn.script({ kind: "error", status });
    const error = await analyze().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain(`answered ${status}`);
  });

  test("a wrong key is refused by the stand-in: PermanentError", async () => {
    const error = await analyze(analyzerFor(standIn.url, "sk-wrong")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain("Incorrect API key");
  });

  test("a server that is not there is a TransientError", async () => {
    const gone = startOpenAiStandIn();
    await gone.stop();
    expect(await analyze(analyzerFor(gone.url)).catch((e: unknown) => e)).toBeInstanceOf(TransientError);
  });
});

describe("openAiConfigSchema", () => {
  test("defaults the model and the base URL; the key is optional", () => {
    expect(openAiConfigSchema.parse({})).toEqual({ AI_BASE_URL: "https://api.openai.com/v1", AI_MODEL: "gpt-4o-mini" });
    expect(openAiConfigSchema.parse({ AI_CALIBRATION_PATH: "calibration.json" }).AI_CALIBRATION_PATH).toBe("calibration.json");
  });

  test("refuses a base URL that is not http(s), such as a bare host:port", () => {
    expect(openAiConfigSchema.safeParse({ AI_BASE_URL: "localhost:11434/v1" }).success).toBe(false);
    expect(openAiConfigSchema.safeParse({ AI_BASE_URL: "http://localhost:11434/v1" }).success).toBe(true);
  });
});
