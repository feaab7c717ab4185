/**
 * Metadata from any OpenAI-compatible chat completions endpoint (OpenAI,
 * Ollama, vLLM, llama.cpp's server, LM Studio, Google's compatibility
 * endpoint...): one user message with a prompt and the image, at temperature
 * 0, the reply held to the metadata's JSON schema in the strictest response
 * format the server accepts (openai/formats.ts), and zod on the way back
 * (openai/reply.ts). Errors are classified in openai/errors.ts.
 *
 * The image sent is the cutout flattened on white, at most 1024 px, as JPEG:
 * every OpenAI-compatible server decodes JPEG (an original may be WebP, which
 * some do not), models that ignore alpha would otherwise see a black
 * background, the item alone leaves nothing else in the shot to describe,
 * and the request stays small whatever the size of the upload.
 *
 * Confidences are the model's own words: a null value gets 0, one below
 * MIN_EVIDENCE is no answer (as in the local analyzer), a calibration map
 * (AI_CALIBRATION_PATH) turns the rest into observed accuracy, and a doubtful
 * cut-out lowers the colorway's.
 */

import {
  type Category,
  type Detection,
  type ExtractedMetadata,
  finaliseDetection,
  type MetadataSource,
  MIN_EVIDENCE,
  NO_DETECTION,
} from "@pipeline/contracts/asset";
import { PermanentError, TransientError } from "@pipeline/runtime/errors";
import sharp from "sharp";
import { z } from "zod";
import type { AnalysisInput, MetadataAnalyzer } from "../providers.ts";
import { type CalibratedAttribute, type CalibrationMap, calibrate } from "./calibration.ts";
import { errorDetail, errorForResponse, PROVIDER, refusesFormat } from "./openai/errors.ts";
import { FormatMemory, type FormatMode, METADATA_JSON_SCHEMA, responseFormat, schemaInPrompt } from "./openai/formats.ts";
import { parseReply, TruncatedReplyError } from "./openai/reply.ts";

export const openAiConfigSchema = z.object({
  /** Base URL including the API version, e.g. https://api.openai.com/v1 or http://localhost:11434/v1 (Ollama). */
  AI_BASE_URL: z.url({ protocol: /^https?$/ }).default("https://api.openai.com/v1"),
  /** Bearer key; local servers usually need none. */
  AI_API_KEY: z.string().min(1).optional(),
  /** The vision model asked for the metadata. */
  AI_MODEL: z.string().min(1).default("gpt-4o-mini"),
  /** A calibration map for AI_MODEL (`bun bench/accuracy.ts --analyzer openai` writes one); without it confidences are the model's estimate. */
  AI_CALIBRATION_PATH: z.string().min(1).optional(),
});
export type OpenAiConfig = z.infer<typeof openAiConfigSchema>;

const MAX_IMAGE_SIDE = 1024;
/** Room for the reply: the JSON is ~60 tokens, a chatty model's prose around it more. */
export const MAX_TOKENS = 400;
/** The one retry of a reply cut off at MAX_TOKENS (a model that thinks aloud first). */
export const MAX_TOKENS_RETRY = 1600;

const CATEGORY_HINTS: Record<Category, string> = {
  sneaker: "a sneaker. Model: the shoe's model name (e.g. Air Jordan 1 High OG). Colorway: the official colorway name, or its main colours",
  lego: "a LEGO set or model. Brand: usually LEGO. Model: the set name and number when visible (e.g. 75192 Millennium Falcon). Colorway: its main colours",
  camera: "a camera or lens. Model: the exact model (e.g. Leica M6, Canon AE-1 Program). Colorway: the finish (e.g. black paint, chrome)",
  other: "a collectible item. Model: its model or product name. Colorway: its colour scheme",
};

/**
 * The prompt: the user's category as context, and what to return. It names
 * JSON in every mode (OpenAI refuses json_object otherwise), and carries the
 * schema itself where the server does not enforce it.
 */
export function analysisPrompt(category: Category, mode: FormatMode = "strict"): string {
  return [
    `The photo shows ${CATEGORY_HINTS[category]}.`,
    "Identify its brand, model and colorway.",
    "For each, give the value and your confidence from 0 to 1 that it is right.",
    "When you cannot tell, give null as the value and 0 as the confidence; do not guess names you cannot see or recognise.",
    'Answer with one JSON object: {"brand": {"value": ..., "confidence": ...}, "model": {...}, "colorway": {...}}.',
    ...(schemaInPrompt(mode) ? [`It must match this JSON schema, with nothing before or after it: ${JSON.stringify(METADATA_JSON_SCHEMA)}`] : []),
  ].join(" ");
}

/** The cutout flattened on white and bounded in size, as JPEG. */
export async function imageForAnalysis(cutout: Uint8Array): Promise<Uint8Array> {
  try {
    const jpeg = await sharp(cutout)
      .flatten({ background: "#ffffff" })
      .resize({ width: MAX_IMAGE_SIDE, height: MAX_IMAGE_SIDE, fit: "inside", withoutEnlargement: true })
      // Huffman tables not optimised: half the encoding CPU for a file ~10 % larger.
      .jpeg({ quality: 85, optimiseCoding: false })
      .toBuffer();
    return new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
  } catch (error) {
    throw new PermanentError(`cutout does not decode: ${(error as Error).message}`, { cause: error });
  }
}

export interface RequestOptions {
  model: string;
  category: Category;
  jpeg: Uint8Array;
  mode: FormatMode;
  maxTokens: number;
}

export function chatCompletionRequest({ model, category, jpeg, mode, maxTokens }: RequestOptions) {
  const format = responseFormat(mode);
  return {
    model,
    // Ollama samples at 1.0 and other servers at their own default without it: the same photo would get different answers.
    temperature: 0,
    max_tokens: maxTokens,
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: analysisPrompt(category, mode) },
          { type: "image_url", image_url: { url: `data:image/jpeg;base64,${Buffer.from(jpeg).toString("base64")}` } },
        ],
      },
    ],
    ...(format ? { response_format: format } : {}),
  };
}

/** The server refused the response format: the next one is worth a try at once. */
class FormatRefusedError extends PermanentError {}

export interface OpenAiAnalyzerDeps {
  fetchImpl?: typeof fetch;
  /** Loaded from AI_CALIBRATION_PATH; null: the confidences are the model's estimate. */
  calibration?: CalibrationMap | null;
  /** Which response format each endpoint accepted (shared by analyzers of the same process). */
  formats?: FormatMemory;
}

export class OpenAiAnalyzer implements MetadataAnalyzer {
  readonly name = "openai";
  readonly source: MetadataSource;
  private readonly endpoint: string;
  /** The format memory's key: what one server accepts for one model. */
  private readonly endpointKey: string;
  private readonly fetchImpl: typeof fetch;
  private readonly calibration: CalibrationMap | null;
  private readonly formats: FormatMemory;

  constructor(
    private readonly config: OpenAiConfig,
    deps: OpenAiAnalyzerDeps = {},
  ) {
    this.endpoint = `${config.AI_BASE_URL.replace(/\/+$/, "")}/chat/completions`;
    this.endpointKey = `${this.endpoint} ${config.AI_MODEL}`;
    this.fetchImpl = deps.fetchImpl ?? fetch;
    this.calibration = deps.calibration ?? null;
    this.formats = deps.formats ?? new FormatMemory();
    this.source = { analyzer: "openai", model: config.AI_MODEL, calibrated: this.calibration !== null };
  }

  async analyze({ cutout, category, signal, cutoutConfidence }: AnalysisInput): Promise<ExtractedMetadata> {
    const jpeg = await imageForAnalysis(cutout);
    let mode = this.formats.modeFor(this.endpointKey);
    let maxTokens = MAX_TOKENS;
    for (;;) {
      try {
        const reply = await this.post(chatCompletionRequest({ model: this.config.AI_MODEL, category, jpeg, mode, maxTokens }), mode, signal);
        return adjustConfidences(parseReply(reply), { calibration: this.calibration, cutoutConfidence });
      } catch (error) {
        if (error instanceof FormatRefusedError) {
          const next = this.formats.stepDown(this.endpointKey, mode);
          if (next === null) throw new PermanentError(`${error.message} (every response format was refused)`);
          mode = next;
        } else if (error instanceof TruncatedReplyError) {
          if (maxTokens >= MAX_TOKENS_RETRY) throw new PermanentError(`${error.message} (even with max_tokens ${maxTokens})`);
          maxTokens = MAX_TOKENS_RETRY;
        } else throw error;
      }
    }
  }

  /** POSTs the request and returns the response's JSON; every failure classified. */
  private async post(body: unknown, mode: FormatMode, signal: AbortSignal): Promise<unknown> {
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(this.endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(this.config.AI_API_KEY ? { authorization: `Bearer ${this.config.AI_API_KEY}` } : {}),
        },
        body: JSON.stringify(body),
        signal,
      });
      text = await response.text();
    } catch (error) {
      // Network failure, or the signal fired (the job's timeout): worth another try.
      throw new TransientError(`${PROVIDER} request failed: ${(error as Error).message}`, { cause: error });
    }
    if (!response.ok) {
      const detail = errorDetail(text);
      if (mode !== "prompt" && refusesFormat(response.status, detail)) {
        throw new FormatRefusedError(`${PROVIDER} answered ${response.status} to response format ${mode}: ${detail.message}`);
      }
      throw errorForResponse(response.status, response.headers, detail);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new TransientError(`${PROVIDER} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
  }
}

/**
 * The model's answer as stored: no value means confidence 0; a confidence
 * below MIN_EVIDENCE is no answer; a calibration map turns the rest into
 * observed accuracy; the cut-out's confidence scales the colorway's, as the
 * local analyzer does (colours read from a doubtful cut-out are doubtful too).
 */
export function adjustConfidences(
  metadata: ExtractedMetadata,
  { calibration, cutoutConfidence }: { calibration: CalibrationMap | null; cutoutConfidence?: number | undefined },
): ExtractedMetadata {
  const adjust = (attribute: CalibratedAttribute, detection: Detection): Detection => {
    const value = detection.value?.trim() || null;
    if (value === null || detection.confidence < MIN_EVIDENCE) return NO_DETECTION;
    const observed = calibration ? calibrate(calibration, attribute, detection.confidence) : detection.confidence;
    const confidence = attribute === "colorway" ? observed * (cutoutConfidence ?? 1) : observed;
    return finaliseDetection({ value, confidence });
  };
  return { brand: adjust("brand", metadata.brand), model: adjust("model", metadata.model), colorway: adjust("colorway", metadata.colorway) };
}
