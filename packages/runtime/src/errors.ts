/**
 * Error classes shared by the services. The worker retries anything that is
 * not a PermanentError; a PermanentError fails the job at once.
 */

/** Retrying cannot help: bad input, an image that does not decode, a provider's 400/401/403. */
export class PermanentError extends Error {
  override name = "PermanentError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Worth another try: network errors, 5xx, 429, timeouts. */
export class TransientError extends Error {
  override name = "TransientError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Classifies an HTTP status from an upstream provider. */
export function errorForStatus(provider: string, status: number, detail = ""): Error {
  const message = `${provider} answered ${status}${detail ? `: ${detail}` : ""}`;
  if (status === 429 || status >= 500) return new TransientError(message);
  return new PermanentError(message);
}

/**
 * The upstream asked to be called again later (`Retry-After`): the job waits
 * `delayMs` without spending an attempt, when its remaining time allows.
 */
export class RetryLaterError extends TransientError {
  override name = "RetryLaterError";
  constructor(
    message: string,
    readonly delayMs: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
