import { describe, expect, test } from "bun:test";
import { PermanentError, TransientError } from "@pipeline/runtime/errors";
import { UnreadableImageError } from "@pipeline/vision";
import { UnrecoverableError } from "bullmq";
import { z } from "zod";
import { AttemptTimeoutError, failureReason, isPermanent, type Stage } from "./failures.ts";

describe("isPermanent", () => {
  test("PermanentError, an image that does not decode, UnrecoverableError and a zod error are permanent", () => {
    const zodError = z.object({ a: z.string() }).safeParse({}).error;
    expect(isPermanent(new PermanentError("openai answered 400"))).toBe(true);
    expect(isPermanent(new UnreadableImageError("image does not decode"))).toBe(true);
    expect(isPermanent(new UnrecoverableError("no"))).toBe(true);
    expect(isPermanent(zodError)).toBe(true);
  });

  test("transient errors, timeouts, plain errors and non-errors are not", () => {
    expect(isPermanent(new TransientError("openai answered 503"))).toBe(false);
    expect(isPermanent(new AttemptTimeoutError(1000))).toBe(false);
    expect(isPermanent(new Error("ECONNRESET"))).toBe(false);
    expect(isPermanent("a string")).toBe(false);
  });
});

describe("failureReason", () => {
  test("names the part that was unavailable for each stage", () => {
    const cases: [Stage, string][] = [
      ["validating", "Job data"],
      ["loading", "Database"],
      ["downloading", "Image storage"],
      ["background", "Background removal service"],
      ["analysis", "AI service"],
      ["storing", "Image storage"],
      ["saving", "Database"],
      ["publishing", "Event queue"],
    ];
    for (const [stage, name] of cases) {
      expect(failureReason(new TransientError("down"), stage, 3)).toBe(`${name} unavailable after 3 attempts (down)`);
    }
  });

  test("a transient error says which service was unavailable, after how many attempts, and why", () => {
    expect(failureReason(new TransientError("openai answered 503"), "analysis", 3)).toBe("AI service unavailable after 3 attempts (openai answered 503)");
  });

  test("a permanent error says the stage rejected the job, without counting attempts", () => {
    expect(failureReason(new PermanentError("openai answered 401"), "analysis", 1)).toBe("AI service rejected the job: openai answered 401");
    expect(failureReason(new UnrecoverableError("image does not decode"), "background", 2)).toBe(
      "Background removal service rejected the job: image does not decode",
    );
  });

  test("a timeout gives the per-attempt limit, whatever the stage", () => {
    expect(failureReason(new AttemptTimeoutError(120_000), "background", 3)).toBe("Processing timed out (120000 ms per attempt) after 3 attempts");
    expect(failureReason(new AttemptTimeoutError(50), "storing", 2)).toBe("Processing timed out (50 ms per attempt) after 2 attempts");
  });

  test("one attempt is singular, more are plural", () => {
    expect(failureReason(new Error("down"), "downloading", 1)).toBe("Image storage unavailable after 1 attempt (down)");
    expect(failureReason(new AttemptTimeoutError(10), "analysis", 1)).toBe("Processing timed out (10 ms per attempt) after 1 attempt");
    expect(failureReason(new Error("down"), "downloading", 2)).toBe("Image storage unavailable after 2 attempts (down)");
  });

  test("a thrown non-Error is described by its string form", () => {
    expect(failureReason("socket hang up", "saving", 3)).toBe("Database unavailable after 3 attempts (socket hang up)");
  });
});
