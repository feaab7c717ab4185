import { describe, expect, test } from "bun:test";
import { AI_JOB_DEFAULTS } from "./config.ts";
import { EVENT_MARKER_TTL_S } from "./markers.ts";
import { OUTCOME_JOB_OPTIONS } from "./queues.ts";

/** BullMQ's exponential backoff: delay × 2^(n−1) before the n-th retry; the sum over every retry of `attempts`. */
const backoffSpanMs = (attempts: number, delayMs: number) => delayMs * (2 ** (attempts - 1) - 1);

describe("the written-event marker", () => {
  test("outlives every retry of its outcome job and every re-publication by its AI run", () => {
    const outcomeRetries = backoffSpanMs(OUTCOME_JOB_OPTIONS.attempts, OUTCOME_JOB_OPTIONS.backoff.delay);
    const aiRun = AI_JOB_DEFAULTS.attempts * AI_JOB_DEFAULTS.timeoutMs + backoffSpanMs(AI_JOB_DEFAULTS.attempts, AI_JOB_DEFAULTS.backoffMs);
    // Publish hand-backs (about a minute) and lock takeovers (seconds each) come on top: a margin of 5 minutes.
    expect(EVENT_MARKER_TTL_S * 1000).toBeGreaterThan(outcomeRetries + aiRun + 5 * 60_000);
  });
});
