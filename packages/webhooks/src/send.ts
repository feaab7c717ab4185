/**
 * One delivery attempt: check the target (resolve, check, never connect to a
 * refused address), sign, POST with a timeout, and report what happened.
 * Redirects are not followed: a 3xx is a failed attempt. Any 2xx succeeds.
 */

import { signatureHeaders } from "./signing.ts";
import { checkTarget, type TargetPolicy, UnresolvableTargetError, UnsafeTargetError } from "./ssrf.ts";

const USER_AGENT = "collectibles-webhooks/1.0 (Standard Webhooks)";

export interface AttemptInput {
  url: string;
  /** The delivery's id (`webhook-id`), the same on every retry. */
  deliveryId: string;
  body: string;
  secret: string;
}

export interface AttemptOptions {
  policy: TargetPolicy;
  timeoutMs: number;
  /** Aborts the request without it counting as an attempt (shutdown): the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface AttemptResult {
  ok: boolean;
  at: Date;
  /** The receiver's status, or null when none came back. */
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export async function sendAttempt(input: AttemptInput, options: AttemptOptions): Promise<AttemptResult> {
  const at = new Date();
  const started = performance.now();
  const result = (statusCode: number | null, error: string | null): AttemptResult => ({
    ok: error === null,
    at,
    statusCode,
    error,
    durationMs: Math.round(performance.now() - started),
  });

  try {
    await checkTarget(input.url, options.policy);
  } catch (error) {
    if (error instanceof UnsafeTargetError || error instanceof UnresolvableTargetError) return result(null, `not sent: ${error.message}`);
    throw error;
  }

  const timeout = AbortSignal.timeout(options.timeoutMs);
  const headers = {
    "content-type": "application/json",
    "user-agent": USER_AGENT,
    ...signatureHeaders({ id: input.deliveryId, timestamp: Math.floor(at.getTime() / 1000), body: input.body, secret: input.secret }),
  };
  let response: Response;
  try {
    response = await fetch(input.url, {
      method: "POST",
      headers,
      body: input.body,
      redirect: "manual",
      signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
    });
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    return result(null, timeout.aborted ? `no answer within ${options.timeoutMs} ms` : `request failed: ${(error as Error).message}`);
  }
  // The answer's body is not needed: release the connection.
  await response.body?.cancel().catch(() => undefined);
  const status = response.status;
  if (status >= 200 && status < 300) return result(status, null);
  if (status >= 300 && status < 400) return result(status, `redirect not followed: ${status} to ${response.headers.get("location") ?? "(no location)"}`);
  return result(status, `receiver answered ${status}`);
}
