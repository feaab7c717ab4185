import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "@pipeline/runtime/config";
import { buildCalibrationMap } from "./analyzer/calibration.ts";
import { REMOTE_ANALYZER_CONCURRENCY, visionThreads, workerConcurrency, workerConfigSchema } from "./config.ts";
import { createAnalyzer } from "./providers-factory.ts";

const env = { JWT_SECRET: "x".repeat(32) };
/** A hosted analyzer starts no vision threads. */
const noThreads = () => {
  throw new Error("vision threads started for a hosted analyzer");
};

describe("WORKER_CONCURRENCY", () => {
  test("defaults to the core count for the local analyzer and to a higher number for a remote one", () => {
    expect(workerConcurrency(loadConfig(workerConfigSchema, env), 6)).toBe(6);
    expect(workerConcurrency(loadConfig(workerConfigSchema, { ...env, ANALYZER: "openai" }), 6)).toBe(REMOTE_ANALYZER_CONCURRENCY);
    expect(REMOTE_ANALYZER_CONCURRENCY).toBeGreaterThan(6);
  });

  test("a set value wins for either analyzer", () => {
    expect(workerConcurrency(loadConfig(workerConfigSchema, { ...env, ANALYZER: "openai", WORKER_CONCURRENCY: "3" }), 6)).toBe(3);
    expect(() => loadConfig(workerConfigSchema, { ...env, WORKER_CONCURRENCY: "0" })).toThrow(/WORKER_CONCURRENCY/);
  });
});

describe("VISION_THREADS", () => {
  test("defaults to the core count; a set value wins; 0 is refused", () => {
    expect(visionThreads(loadConfig(workerConfigSchema, env), 6)).toBe(6);
    expect(visionThreads(loadConfig(workerConfigSchema, { ...env, VISION_THREADS: "3" }), 6)).toBe(3);
    expect(() => loadConfig(workerConfigSchema, { ...env, VISION_THREADS: "0" })).toThrow(/VISION_THREADS/);
  });
});

describe("AI_CALIBRATION_PATH", () => {
  const dir = mkdtempSync(join(tmpdir(), "calibration-"));
  const map = buildCalibrationMap([{ attribute: "brand", confidence: 0.9, right: true }], {
    model: "vision-model",
    measuredAt: new Date().toISOString(),
    evaluation: { seed: 1, images: 1 },
  });
  const configWith = (path: string, model = "vision-model") =>
    loadConfig(workerConfigSchema, { ...env, ANALYZER: "openai", AI_MODEL: model, AI_CALIBRATION_PATH: path });
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  test("a valid map is loaded: the analyzer's confidences are calibrated", () => {
    expect(createAnalyzer(configWith(write("good.json", JSON.stringify(map))), noThreads).source).toEqual({
      analyzer: "openai",
      model: "vision-model",
      calibrated: true,
    });
  });

  test.each([
    ["a missing file", () => configWith(join(dir, "absent.json")), /cannot be read/],
    ["a file that is not JSON", () => configWith(write("bad.json", "{nope")), /is not JSON/],
    ["a file that is not a map", () => configWith(write("other.json", JSON.stringify({ version: 1, model: "vision-model" }))), /is not a calibration map/],
    [
      "a map of another model",
      () => configWith(write("good2.json", JSON.stringify(map)), "another-model"),
      /measured on model vision-model, but AI_MODEL is another-model/,
    ],
  ])("%s stops the worker with a clear message", (_, config, message) => {
    const error = (() => {
      try {
        createAnalyzer(config(), noThreads);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toMatch(/^invalid configuration: AI_CALIBRATION_PATH: /);
    expect(error?.message).toMatch(message);
  });
});
