/**
 * An OpenAI-compatible server's error answers, classified. Each server words
 * its body differently: OpenAI and Ollama `{"error": {"message"}}`, older
 * vLLM a flat `{"message"}`, LM Studio `{"error": "text"}`, Google's
 * compatibility endpoint an array `[{"error": {...}}]`.
 */
import { PermanentError, RetryLaterError, TransientError } from "@pipeline/runtime/errors";

export const PROVIDER = "openai";

/** What an error body says: its message and, where given, its code or type (`insufficient_quota`). */
export interface ErrorDetail {
  message: string;
  code: string | null;
}

export function errorDetail(text: string): ErrorDetail {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { message: text.slice(0, 300), code: null };
  }
  const first = Array.isArray(body) ? body[0] : body;
  const error = (first as { error?: unknown } | null)?.error ?? first;
  if (typeof error === "string") return { message: error, code: null };
  const { message, code, type, status } = (error ?? {}) as Record<string, unknown>;
  const name = [code, type, status].find((value): value is string => typeof value === "string") ?? null;
  return { message: typeof message === "string" ? message : text.slice(0, 300), code: name };
}

/** A refusal of the request's response format (or schema), worth the next format rather than a retry. */
export function refusesFormat(status: number, detail: ErrorDetail): boolean {
  // llama.cpp's server answers a request it cannot parse with a 500 naming the field.
  return (status === 400 || status === 422 || status === 500) && /response_format|json_schema|json_object|\$ref|\$defs|schema/i.test(detail.message);
}

/** Retrying cannot help these: the account, the key or the server's setup must change first. */
function permanentCause(status: number, detail: ErrorDetail): string | null {
  if (detail.code === "insufficient_quota" || /insufficient_quota/.test(detail.message)) return "the account's quota is exhausted";
  // llama.cpp's server started without a vision projector (--mmproj) cannot read images at all.
  if (/mmproj/i.test(detail.message)) return "the server has no vision projector (start llama-server with --mmproj)";
  if (status >= 400 && status < 500 && !TRANSIENT_4XX.has(status)) return "the request was refused";
  return null;
}

/** Timeout, conflict and rate limit: another try may well succeed. */
const TRANSIENT_4XX = new Set([408, 409, 429]);

/** The error for a non-2xx answer; a `Retry-After` makes it a RetryLaterError. */
export function errorForResponse(status: number, headers: Headers, detail: ErrorDetail): Error {
  const message = `${PROVIDER} answered ${status}: ${detail.message}`;
  const permanent = permanentCause(status, detail);
  if (permanent) return new PermanentError(`${message} (${permanent})`);
  const delayMs = retryAfterMs(headers);
  if (delayMs !== null) return new RetryLaterError(`${message} (retry after ${delayMs} ms)`, delayMs);
  return new TransientError(message);
}

/** `retry-after-ms` (OpenAI's), else `Retry-After` in seconds or as an HTTP date; null when absent or unreadable. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | null {
  const ms = Number(headers.get("retry-after-ms") ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  const value = headers.get("retry-after")?.trim();
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
