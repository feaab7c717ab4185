/**
 * One attempt's time limit. BullMQ has no timeout option, so each attempt
 * gets an AbortSignal that fires at the limit (or at shutdown); providers pass
 * it to their I/O, and the attempt is rejected at once even if a step ignores it.
 */
import { AttemptTimeoutError } from "./failures.ts";

export async function withAttemptSignal<T>(timeoutMs: number, outer: AbortSignal, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new AttemptTimeoutError(timeoutMs)), timeoutMs);
  const signal = AbortSignal.any([timeout.signal, outer]);
  try {
    return await Promise.race([run(signal), rejectOnAbort(signal)]);
  } finally {
    clearTimeout(timer);
    // Whatever is still running belongs to a finished attempt: stop it.
    if (!signal.aborted) timeout.abort(new Error("attempt finished"));
  }
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}
