/**
 * How every Cloudinary call (upload, destroy, a delivery or derived
 * download) classifies a failure, and the one rate-limit policy they share:
 * 420 (Cloudinary's "rate limited") and 429 are transient, waited out in
 * place (Retry-After when the answer carries one) a few times, then left to
 * the job's retry.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { errorForStatus, TransientError } from "@pipeline/runtime/errors";

/** 420 or 429 from Cloudinary; `retryAfterMs` when the answer said how long to wait. */
export class CloudinaryRateLimitError extends TransientError {
  override name = "CloudinaryRateLimitError";
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface RateLimitPolicy {
  /** Waits in place before the call's failure goes to the job. */
  retries: number;
  /** First wait when the answer has no Retry-After; doubled after each. */
  delayMs: number;
  /** A longer Retry-After is not waited out here: the job's own backoff takes over. */
  maxWaitMs: number;
}

export const DEFAULT_RATE_LIMIT_POLICY: RateLimitPolicy = { retries: 2, delayMs: 1_000, maxWaitMs: 10_000 };

const RATE_LIMITED = new Set([420, 429]);
/** The SDK's own request timeout. */
const SDK_TIMEOUT = 499;

/** The error for a Cloudinary answer of `status`; `retryAfter` is the answer's Retry-After header, when it has one. */
export function cloudinaryFailure(action: string, status: number, detail: string, retryAfter?: string | null): Error {
  const message = `cloudinary ${action} answered ${status}${detail ? `: ${detail}` : ""}`;
  if (RATE_LIMITED.has(status)) return new CloudinaryRateLimitError(message, retryAfterMs(retryAfter));
  if (status === SDK_TIMEOUT) return new TransientError(message);
  return errorForStatus(`cloudinary ${action}`, status, detail);
}

/** A delivery host's error answer: its reason is in X-Cld-Error, not in the body. */
export async function deliveryFailure(action: string, response: Response): Promise<Error> {
  await response.body?.cancel();
  return cloudinaryFailure(action, response.status, response.headers.get("x-cld-error") ?? "", response.headers.get("retry-after"));
}

/** Runs `call`, waiting out rate limits as the policy says; the signal ends a wait at once. */
export async function withRateLimitRetry<T>(policy: RateLimitPolicy, signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof CloudinaryRateLimitError) || attempt >= policy.retries) throw error;
      const wait = error.retryAfterMs ?? policy.delayMs * 2 ** attempt;
      if (wait > policy.maxWaitMs) throw error;
      await sleep(wait, undefined, signal ? { signal } : {}).catch(() => {
        throw new TransientError(`${error.message}; aborted while waiting ${wait} ms to retry`, { cause: signal?.reason });
      });
    }
  }
}

/** Retry-After as delay-seconds or an HTTP date (RFC 9110 10.2.3), in ms; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1_000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
