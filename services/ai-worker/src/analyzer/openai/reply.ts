/**
 * The metadata in a chat completion. Servers and models differ: content may
 * be a string or an array of text parts, and a model not held to the schema
 * wraps its JSON in a Markdown fence or a sentence. A refusal is final; a
 * reply cut short (`finish_reason: length`) is told apart from a malformed one.
 */
import { type ExtractedMetadata, extractedMetadataSchema } from "@pipeline/contracts/asset";
import { PermanentError, TransientError } from "@pipeline/runtime/errors";
import { z } from "zod";
import { PROVIDER } from "./errors.ts";

const textPartSchema = z.object({ type: z.string(), text: z.string().optional() });

/** The part of a chat completion the analyzer reads. */
const completionSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.union([z.string(), z.array(textPartSchema)]).nullish(), refusal: z.string().nullish() }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
});

/** The reply was cut at max_tokens: another try needs more room, not the same. */
export class TruncatedReplyError extends TransientError {
  override name = "TruncatedReplyError";
}

/**
 * The metadata, validated. A refusal is a PermanentError (the same image gets
 * the same refusal); anything malformed is a TransientError, since models are
 * not deterministic and another try may well answer properly.
 */
export function parseReply(reply: unknown): ExtractedMetadata {
  const completion = completionSchema.safeParse(reply);
  if (!completion.success) throw malformed(`not a chat completion: ${z.prettifyError(completion.error)}`);
  const { message, finish_reason: finishReason } = completion.data.choices[0]!;
  if (message.refusal) throw new PermanentError(`${PROVIDER} model refused: ${message.refusal}`);
  if (finishReason === "content_filter") throw new PermanentError(`${PROVIDER} reply was withheld by the content filter`);
  const content = contentText(message.content);
  if (finishReason === "length") throw new TruncatedReplyError(`${PROVIDER} reply was cut off at max_tokens: ${content.slice(0, 120)}`);
  if (!content.trim()) throw malformed("no content");
  const json = extractJson(content);
  if (json === undefined) throw malformed(`content holds no JSON object: ${content.slice(0, 200)}`);
  const metadata = extractedMetadataSchema.safeParse(json);
  if (!metadata.success) throw malformed(`content does not match the metadata schema: ${z.prettifyError(metadata.error)}`);
  return metadata.data;
}

/** A string, or the text of an array of parts joined. */
function contentText(content: string | z.infer<typeof textPartSchema>[] | null | undefined): string {
  if (typeof content === "string") return content;
  return (content ?? [])
    .filter((part) => part.type === "text" || part.type === "output_text")
    .map((part) => part.text ?? "")
    .join("");
}

/**
 * The JSON object in `text`: the whole text, else a fenced block's, else the
 * first balanced `{...}` that parses; undefined when there is none.
 */
export function extractJson(text: string): unknown {
  const candidates = [text.trim(), ...[...text.matchAll(/```[a-zA-Z]*\s*\n?([\s\S]*?)```/g)].map((match) => match[1]!.trim())];
  for (const candidate of candidates) {
    const parsed = tryParse(candidate);
    if (parsed !== undefined) return parsed;
  }
  for (let start = text.indexOf("{"); start !== -1; start = text.indexOf("{", start + 1)) {
    const end = balancedEnd(text, start);
    if (end === -1) continue;
    const parsed = tryParse(text.slice(start, end + 1));
    if (parsed !== undefined) return parsed;
  }
  return undefined;
}

function tryParse(text: string): unknown {
  if (!text.startsWith("{")) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The index of the brace closing the one at `start` (strings skipped), or -1. */
function balancedEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === "\\") i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === "{") depth++;
    else if (char === "}" && --depth === 0) return i;
  }
  return -1;
}

function malformed(reason: string): TransientError {
  return new TransientError(`${PROVIDER} reply is malformed: ${reason}`);
}
