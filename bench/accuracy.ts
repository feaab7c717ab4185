/**
 * Accuracy of the offline analyzer and background remover on a generated,
 * labelled evaluation set.
 *
 *   bun bench/accuracy.ts [--seed 1] [--with-text 160] [--without-text 40]
 *                         [--label current] [--code packages/vision] [--code-label TEXT]
 *                         [--save-images DIR] [--only 3,17] [--no-docs]
 *
 * The set is drawn from the seed (bench/accuracy/scenes.ts): catalogue items
 * of every category with brand and model printed on the item, and items with
 * no text, in varied fonts, text polarity, size, rotation, blur, JPEG
 * quality, backdrops and contact shadows (bench/accuracy/render.ts). Each
 * image goes through the same removeBackground and analyzeImage the
 * ai-worker runs, in this process, one at a time, and is scored
 * (bench/accuracy/score.ts). `--code` measures another copy of the vision
 * package (an older checkout's packages/vision, say) on the same set;
 * `--label baseline` keeps that run as the "before" column. The baseline in
 * bench/accuracy.json was made so, when this code still lived in
 * services/ai-worker/src/{analyzer,background}/local:
 *   BASE=$(mktemp -d); git archive e6da768 services/ai-worker packages | tar -x -C "$BASE"
 *   ln -s "$PWD/node_modules" "$BASE/node_modules"
 *   ln -s "$PWD/services/ai-worker/node_modules" "$BASE/services/ai-worker/node_modules"
 *   taskset -c 0 bun bench/accuracy.ts --label baseline --code "$BASE/services/ai-worker" --code-label "HEAD e6da768 (before this change)"
 * (the --cache DIR option keeps rendered images between development runs).
 *
 * A hosted model's calibration:
 *   AI_BASE_URL=... AI_API_KEY=... AI_MODEL=... bun bench/accuracy.ts --analyzer openai [--calibration-out FILE]
 * sends each image's cut-out (the local remover's) to that OpenAI-compatible
 * endpoint, scores the answers like the local analyzer's, and writes a
 * calibration map (per attribute, the model's stated confidence in tenths ->
 * the share right) for the worker's AI_CALIBRATION_PATH. It leaves
 * bench/accuracy.json and docs/providers.md alone.
 * Results: bench/accuracy.json (every run by label, with each image's
 * outcome) and the table in docs/providers.md between `<!-- accuracy:start -->` and
 * `<!-- accuracy:end -->`.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Category } from "@pipeline/contracts/asset";
import { shippedRecords } from "@pipeline/vision";
import sharp from "sharp";
import { buildCalibrationMap, type Claim } from "../services/ai-worker/src/analyzer/calibration.ts";
import { OpenAiAnalyzer, openAiConfigSchema } from "../services/ai-worker/src/analyzer/openai.ts";
import { Random } from "./accuracy/random.ts";
import { type Rendered, renderScene } from "./accuracy/render.ts";
import { accuracyMarkdown, type RunRecord } from "./accuracy/report.ts";
import { drawScenes, type Item, type Scene } from "./accuracy/scenes.ts";
import { type Outcome, outcomeOf, summarizeRun } from "./accuracy/score.ts";
import { machineInfo } from "./lib/machine.ts";
import { updateMarkedSection } from "./lib/report.ts";

const ROOT = resolve(import.meta.dir, "..");
const { values: args } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    "with-text": { type: "string", default: "160" },
    "without-text": { type: "string", default: "40" },
    label: { type: "string", default: "current" },
    code: { type: "string", default: "packages/vision" },
    /** How the run names the measured code (default: its folder and the checkout's commit). */
    "code-label": { type: "string" },
    "save-images": { type: "string" },
    /** Keeps rendered images between runs (development: rendering is most of a run's time). */
    cache: { type: "string" },
    only: { type: "string" },
    analyzer: { type: "string", default: "local" },
    "calibration-out": { type: "string", default: "calibration.json" },
    "no-docs": { type: "boolean", default: false },
  },
});
const settings = { seed: Number(args.seed), withText: Number(args["with-text"]), withoutText: Number(args["without-text"]) };
const codeDir = resolve(ROOT, args.code);

/** The measured copy's public API (its src/index.ts). */
const { analyzeImage, closeOcr, removeBackground } = (await import(join(codeDir, "src/index.ts"))) as typeof import("@pipeline/vision");

/** The shipped catalogue's items, as printed on the generated items. */
function catalogueItems(): Item[] {
  return shippedRecords().map((r) => ({ category: r.category, brand: r.brand, model: r.model, ...(r.set === undefined ? {} : { set: r.set }) }));
}

function iou(alpha: Uint8Array, truth: Uint8Array): number {
  let intersection = 0;
  let union = 0;
  for (let i = 0; i < truth.length; i++) {
    const a = alpha[i]! >= 128;
    const b = truth[i]! >= 128;
    if (a && b) intersection++;
    if (a || b) union++;
  }
  return union === 0 ? 0 : intersection / union;
}

async function alphaOf(png: Uint8Array): Promise<Uint8Array> {
  const { data, info } = await sharp(png).extractChannel(3).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 1) throw new Error("expected one channel");
  return new Uint8Array(data);
}

async function main(): Promise<void> {
  const scenes = drawScenes(new Random(settings.seed), catalogueItems(), settings);
  const only = args.only === undefined ? null : new Set(args.only.split(",").map(Number));
  if (args.analyzer !== "local" && args.analyzer !== "openai") throw new Error(`--analyzer must be local or openai, not ${args.analyzer}`);
  const hosted = args.analyzer === "openai" ? openAiConfigSchema.parse(process.env) : null;
  // No calibration map: the model's own confidences are what is measured.
  const openai = hosted ? new OpenAiAnalyzer(hosted) : null;
  const signal = new AbortController().signal;
  const analyze = (input: { original: Uint8Array; cutout: Uint8Array; category: Category }) =>
    openai ? openai.analyze({ ...input, signal }) : analyzeImage(input);
  if (args["save-images"]) mkdirSync(args["save-images"], { recursive: true });

  const digest = createHash("sha256");
  const outcomes: Outcome[] = [];
  let warm = false;
  for (const scene of scenes) {
    if (only !== null && !only.has(scene.id)) continue;
    const rendered = await cachedRender(scene);
    digest.update(JSON.stringify(scene)).update(rendered.jpeg);
    if (args["save-images"]) writeFileSync(join(args["save-images"], `${scene.id}.jpg`), rendered.jpeg);
    const run = async () => {
      const { png: cutout } = await removeBackground(rendered.jpeg);
      const predicted = await analyze({ original: rendered.jpeg, cutout, category: scene.category });
      return { cutout, predicted };
    };
    // The first image once untimed: the OCR worker starts lazily.
    if (!warm) {
      await run();
      warm = true;
    }
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const { cutout, predicted } = await run();
    const ms = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const outcome = outcomeOf(scene, rendered, predicted, { iou: iou(await alphaOf(cutout), rendered.mask), ms, cpuMs: (cpu.user + cpu.system) / 1000 });
    outcomes.push(outcome);
    const mark = (right: boolean | null) => (right === null ? " " : right ? "✓" : "✗");
    console.log(
      `${String(scene.id).padStart(3)} ${scene.category.padEnd(7)} ${scene.polarity.padEnd(19)} ${String(outcome.textSize).padStart(4)}px ${String(scene.rotation).padStart(5)}° ` +
        `brand ${mark(outcome.brandRight ?? (outcome.falseBrand === null ? null : !outcome.falseBrand))} model ${mark(outcome.modelRight)} colour ${mark(outcome.colourRight)} IoU ${outcome.iou.toFixed(3)} ${Math.round(ms)} ms` +
        `  ${JSON.stringify(scene.lines)} -> ${predicted.brand.value ?? "∅"} / ${predicted.model.value ?? "∅"} (${predicted.model.confidence}) / ${predicted.colorway.value ?? "∅"}`,
    );
  }
  await closeOcr();

  const record: RunRecord = {
    label: args.label,
    settings,
    code: args["code-label"] ?? describeCode(),
    machine: machineInfo(),
    setDigest: digest.digest("hex").slice(0, 16),
    summary: summarizeRun(outcomes),
  };
  console.log(`\n${accuracyMarkdown(record, null)}`);
  if (hosted) return writeCalibration(outcomes, hosted.AI_MODEL);
  if (only !== null) return; // a partial run is for looking at, not for the record

  const jsonPath = join(ROOT, "bench/accuracy.json");
  const runs: Record<string, RunRecord & { outcomes?: Outcome[] }> = existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, "utf8")).runs : {};
  runs[args.label] = { ...record, outcomes };
  writeFileSync(jsonPath, stringifyRuns(runs));
  const current = runs.current;
  if (!args["no-docs"] && current !== undefined) {
    const markdown = accuracyMarkdown(current, runs.baseline ?? null);
    updateMarkedSection(join(ROOT, "docs", "providers.md"), markdown, {
      start: "<!-- accuracy:start -->",
      end: "<!-- accuracy:end -->",
      heading: "Analysis accuracy",
    });
    console.log(`\ndocs/providers.md (between the accuracy markers):\n${markdown}`);
  }
}

/** The hosted model's calibration map, from every value it named (an empty answer claims nothing). */
function writeCalibration(outcomes: Outcome[], model: string): void {
  const claims: Claim[] = outcomes.flatMap((o) =>
    (["brand", "model", "colorway"] as const)
      .filter((attribute) => o.predicted[attribute].value !== null)
      .map((attribute) => ({
        attribute,
        confidence: o.predicted[attribute].confidence,
        right: attribute === "brand" ? o.brandRight === true : attribute === "model" ? o.modelRight === true : o.colourRight,
      })),
  );
  const map = buildCalibrationMap(claims, { model, measuredAt: new Date().toISOString(), evaluation: { seed: settings.seed, images: outcomes.length } });
  writeFileSync(args["calibration-out"], `${JSON.stringify(map, null, 1)}\n`);
  console.log(`\ncalibration map for ${model} (${claims.length} claims on ${outcomes.length} images) -> ${args["calibration-out"]}`);
  for (const [attribute, bins] of Object.entries(map.attributes)) {
    console.log(`  ${attribute.padEnd(8)} ${bins.map((b) => `${b.from.toFixed(1)}-${b.to.toFixed(1)}: ${b.accuracy} (n ${b.n})`).join(", ")}`);
  }
}

/** bench/accuracy.json: summaries indented, each image's outcome on a line of its own (the file stays readable and small). */
function stringifyRuns(runs: Record<string, RunRecord & { outcomes?: Outcome[] }>): string {
  const parts = Object.entries(runs).map(([label, { outcomes, ...record }]) => {
    const head = JSON.stringify(record, null, 1)
      .replace(/\n/g, "\n  ")
      .replace(/\n {2}\}$/, "");
    const rows = outcomes === undefined ? "" : `,\n   "outcomes": [\n${outcomes.map((o) => `    ${JSON.stringify(o)}`).join(",\n")}\n   ]`;
    return `  ${JSON.stringify(label)}: ${head}${rows}\n  }`;
  });
  return `{\n "command": "bun bench/accuracy.ts",\n "runs": {\n${parts.join(",\n")}\n }\n}\n`;
}

async function cachedRender(scene: Scene): Promise<Rendered> {
  if (args.cache === undefined) return renderScene(scene);
  const key = createHash("sha256").update(JSON.stringify(scene)).digest("hex").slice(0, 20);
  const file = join(args.cache, `${key}.json`);
  if (existsSync(file)) {
    const cached = JSON.parse(readFileSync(file, "utf8")) as { jpeg: string; mask: string; fontSize: number; layout: string };
    return { ...cached, jpeg: new Uint8Array(Buffer.from(cached.jpeg, "base64")), mask: new Uint8Array(Buffer.from(cached.mask, "base64")) };
  }
  const rendered = await renderScene(scene);
  mkdirSync(args.cache, { recursive: true });
  writeFileSync(
    file,
    JSON.stringify({ ...rendered, jpeg: Buffer.from(rendered.jpeg).toString("base64"), mask: Buffer.from(rendered.mask).toString("base64") }),
  );
  return rendered;
}

/** The measured code as "packages/vision at <commit>[ + working-tree changes]", or its folder when outside this checkout. */
function describeCode(): string {
  const rel = relative(ROOT, codeDir);
  if (rel.startsWith("..")) return `the vision package copy in ${codeDir}`;
  const head = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
  const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--", rel], { cwd: ROOT }).stdout.toString().trim() !== "";
  return `${rel} at ${head}${dirty ? " with working-tree changes" : ""}`;
}

await main();
