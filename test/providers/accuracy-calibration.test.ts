/**
 * `bun bench/accuracy.ts --analyzer openai` against the OpenAI-compatible
 * stand-in: it writes a calibration map the worker's loader accepts.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadCalibrationMap } from "../../services/ai-worker/src/analyzer/calibration.ts";
import { startOpenAiStandIn } from "../standins/openai.ts";

const standIn = startOpenAiStandIn({ apiKey: "sk-bench" });
afterAll(() => standIn.stop());

test("the accuracy bench measures a hosted model's calibration and writes a map the worker loads", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "calibration-")), "map.json");
  const bench = Bun.spawn(["bun", "bench/accuracy.ts", "--analyzer", "openai", "--with-text", "4", "--without-text", "2", "--calibration-out", out], {
    cwd: resolve(import.meta.dir, "../.."),
    env: { ...process.env, AI_BASE_URL: standIn.url, AI_API_KEY: "sk-bench", AI_MODEL: "vision-stand-in" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([bench.exited, new Response(bench.stdout).text(), new Response(bench.stderr).text()]);
  expect(stderr).not.toContain("error");
  expect(code).toBe(0);
  expect(stdout).toContain("calibration map for vision-stand-in");

  const map = loadCalibrationMap(out, "vision-stand-in");
  expect(map.evaluation.images).toBe(6);
  // The stand-in names a brand and a model on every image (7 requests: the first image runs twice, warm-up included) and no colorway.
  expect(standIn.requests.filter((r) => r.status === 200)).toHaveLength(7);
  const claims = (attribute: "brand" | "model" | "colorway") => map.attributes[attribute].reduce((n, bin) => n + bin.n, 0);
  expect([claims("brand"), claims("model"), claims("colorway")]).toEqual([6, 6, 0]);
  // Brand Nike at 0.93 lands in the 0.9-1.0 bin.
  expect(map.attributes.brand.map((bin) => [bin.from, bin.to])).toEqual([[0.9, 1]]);
}, 120_000);
