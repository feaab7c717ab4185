/**
 * Metadata from any OpenAI-compatible chat completions endpoint (OpenAI,
 * Ollama, vLLM, LM Studio...): one user message with a prompt and the image,
 * a strict JSON schema as response format, and zod on the way back.
 *
 * The image sent is the cutout flattened on white, at most 1024 px, as JPEG:
 * every OpenAI-compatible server decodes JPEG (an original may be WebP, which
 * some do not), models that ignore alpha would otherwise see a black
 * background, the item alone leaves nothing else in the shot to describe,
 * and the request stays small whatever the size of the upload.
 */

import { type Category, type ExtractedMetadata, extractedMetadataSchema } from "@pipeline/contracts/asset";
import { errorForStatus, PermanentError, TransientError } from "@pipeline/runtime/errors";
import sharp from "sharp";
import { z } from "zod";
import { flattenOnWhite, pixelsEncodedAs } from "../image.ts";
import type { AnalysisInput, MetadataAnalyzer } from "../providers.ts";

export const openAiConfigSchema = z.object({
  /** Base URL including the API version, e.g. https://api.openai.com/v1 or http://localhost:11434/v1 (Ollama). */
  AI_BASE_URL: z.url({ protocol: /^https?$/ }).default("https://api.openai.com/v1"),
  /** Bearer key; local servers usually need none. */
  AI_API_KEY: z.string().min(1).optional(),
  AI_MODEL: z.string().min(1).default("gpt-4o-mini"),
});
export type OpenAiConfig = z.infer<typeof openAiConfigSchema>;

const PROVIDER = "openai";
const MAX_IMAGE_SIDE = 1024;

/** The reply's schema, from the contract's zod schema; strict mode needs no `$schema` key. */
const { $schema: _, ...METADATA_JSON_SCHEMA } = z.toJSONSchema(extractedMetadataSchema);

const CATEGORY_HINTS: Record<Category, string> = {
  sneaker: "a sneaker. Model: the shoe's model name (e.g. Air Jordan 1 High OG). Colorway: the official colorway name, or its main colours",
  lego: "a LEGO set or model. Brand: usually LEGO. Model: the set name and number when visible (e.g. 75192 Millennium Falcon). Colorway: its main colours",
  camera: "a camera or lens. Model: the exact model (e.g. Leica M6, Canon AE-1 Program). Colorway: the finish (e.g. black paint, chrome)",
  other: "a collectible item. Model: its model or product name. Colorway: its colour scheme",
};

/** The prompt: the user's category as context, and what to return. */
export function analysisPrompt(category: Category): string {
  return [
    `The photo shows ${CATEGORY_HINTS[category]}.`,
    "Identify its brand, model and colorway.",
    "For each, give the value and your confidence from 0 to 1 that it is right.",
    "When you cannot tell, give null as the value and 0 as the confidence; do not guess names you cannot see or recognise.",
  ].join(" ");
}

/**
 * The cutout flattened on white and bounded in size, as JPEG. When the local
 * remover made the cutout in this process, its pixels are still at hand and
 * the PNG is not decoded again.
 */
export async function imageForAnalysis(cutout: Uint8Array): Promise<Uint8Array> {
  try {
    const pixels = pixelsEncodedAs(cutout);
    const flattened = pixels
      ? sharp(flattenOnWhite(pixels), { raw: { width: pixels.width, height: pixels.height, channels: 3 } })
      : sharp(cutout).flatten({ background: "#ffffff" });
    const jpeg = await flattened
      .resize({ width: MAX_IMAGE_SIDE, height: MAX_IMAGE_SIDE, fit: "inside", withoutEnlargement: true })
      // Huffman tables not optimised: half the encoding CPU for a file ~10 % larger.
      .jpeg({ quality: 85, optimiseCoding: false })
      .toBuffer();
    return new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
  } catch (error) {
    throw new PermanentError(`cutout does not decode: ${(error as Error).message}`, { cause: error });
  }
}

export function chatCompletionRequest(model: string, category: Category, jpeg: Uint8Array) {
  return {
    model,
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: analysisPrompt(category) },
          { type: "image_url", image_url: { url: `data:image/jpeg;base64,${Buffer.from(jpeg).toString("base64")}` } },
        ],
      },
    ],
    response_format: {
      type: "json_schema",
      json_schema: { name: "extracted_metadata", strict: true, schema: METADATA_JSON_SCHEMA },
    },
  };
}

export class OpenAiAnalyzer implements MetadataAnalyzer {
  readonly name = "openai";
  private readonly endpoint: string;

  constructor(
    private readonly config: OpenAiConfig,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.endpoint = `${config.AI_BASE_URL.replace(/\/+$/, "")}/chat/completions`;
  }

  async analyze({ cutout, category, signal }: AnalysisInput): Promise<ExtractedMetadata> {
    const body = chatCompletionRequest(this.config.AI_MODEL, category, await imageForAnalysis(cutout));
    const reply = await this.post(body, signal);
    return parseReply(reply);
  }

  /** POSTs the request and returns the response's JSON; every failure classified. */
  private async post(body: unknown, signal: AbortSignal): Promise<unknown> {
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
    if (!response.ok) throw errorForStatus(PROVIDER, response.status, errorDetail(text));
    try {
      return JSON.parse(text);
    } catch {
      throw new TransientError(`${PROVIDER} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
  }
}

/** The part of a chat completion the analyzer reads. */
const completionSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullish(), refusal: z.string().nullish() }),
      }),
    )
    .min(1),
});

/**
 * The metadata in a chat completion. Anything malformed is a TransientError:
 * models are not deterministic and another try may well answer properly.
 */
export function parseReply(reply: unknown): ExtractedMetadata {
  const completion = completionSchema.safeParse(reply);
  if (!completion.success) throw malformed(`not a chat completion: ${z.prettifyError(completion.error)}`);
  const message = completion.data.choices[0]!.message;
  if (!message.content) throw malformed(message.refusal ? `the model refused: ${message.refusal}` : "no content");
  let json: unknown;
  try {
    json = JSON.parse(message.content);
  } catch {
    throw malformed(`content is not JSON: ${message.content.slice(0, 200)}`);
  }
  const metadata = extractedMetadataSchema.safeParse(json);
  if (!metadata.success) throw malformed(`content does not match the metadata schema: ${z.prettifyError(metadata.error)}`);
  return metadata.data;
}

function malformed(reason: string): TransientError {
  return new TransientError(`${PROVIDER} reply is malformed: ${reason}`);
}

/** OpenAI's error body is `{"error": {"message": ...}}`; other servers may send plain text. */
function errorDetail(text: string): string {
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof message === "string") return message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 200);
}
