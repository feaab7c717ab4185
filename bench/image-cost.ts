/**
 * CPU cost of the ai-worker's image work per asset, stage by stage, on a
 * generated 600 x 400 WebP photo (an item on a gently graded backdrop, with
 * a little sensor noise, as an upload would be).
 *
 *   bun bench/image-cost.ts [iterations]     (default 200, after 30 warm-up runs)
 *
 * CPU time, not wall time: the machine is shared, so wall time is noisy.
 * process.cpuUsage() counts every thread of the process, sharp's included.
 */
import sharp from "sharp";
import { applyMatte } from "../packages/vision/src/background/alpha.ts";
import { fitBackgroundModel } from "../packages/vision/src/background/border-model.ts";
import { fillHoles, mainComponent } from "../packages/vision/src/background/components.ts";
import { softEdge } from "../packages/vision/src/background/feather.ts";
import { LocalBackgroundRemover, WORK_SIDE } from "../packages/vision/src/background/index.ts";
import { closeGapsAndRemoveSpecks, closingRadius } from "../packages/vision/src/background/morphology.ts";
import { distanceToModel, thresholdMask } from "../packages/vision/src/background/threshold.ts";
import { workingCopy } from "../packages/vision/src/background/working-copy.ts";
import { decodeImage, encodePng } from "../packages/vision/src/image.ts";
import { imageForAnalysis } from "../services/ai-worker/src/analyzer/openai.ts";

const WIDTH = 600;
const HEIGHT = 400;
const WARM_UP = 30;
/** What decoding through sharp alone costs, for comparison; not part of the pipeline's sum. */
const REFERENCE_DECODE = "(reference: decode with sharp)";
const iterations = Math.max(1, Number(process.argv[2] ?? 200) || 200);

/** Deterministic noise (the same photo every run): a small LCG, near-Gaussian by summing three uniforms. */
function noiseSource(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return () => uniform() + uniform() + uniform() - 1.5; // sigma 0.5
}

/** A sneaker-like item with a shaded upper and a sole, on a backdrop graded top-left to bottom-right. */
async function samplePhoto(): Promise<Uint8Array> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}">
    <defs>
      <linearGradient id="backdrop" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#f4f3f0"/><stop offset="1" stop-color="#cfcdc8"/></linearGradient>
      <linearGradient id="upper" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#c04848"/><stop offset="1" stop-color="#8a2a2a"/></linearGradient>
    </defs>
    <rect width="100%" height="100%" fill="url(#backdrop)"/>
    <path d="M110 290 L125 200 Q170 190 210 165 L270 130 Q300 125 315 150 Q350 200 420 215 Q495 230 495 275 L490 290 Z" fill="url(#upper)"/>
    <path d="M105 290 L495 290 L488 318 L112 318 Z" fill="#eeeeea"/>
    <path d="M200 180 L300 250 M230 165 L320 235" stroke="#f0f0f0" stroke-width="6"/>
  </svg>`;
  const clean = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer();
  const noise = noiseSource(42);
  const noisy = new Uint8Array(clean.length);
  for (let i = 0; i < clean.length; i++) noisy[i] = Math.max(0, Math.min(255, Math.round(clean[i]! + 12 * noise()))); // sigma 6 levels: a ~34 KB WebP, like a real photo
  const webp = await sharp(noisy, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    .webp({ quality: 85 })
    .toBuffer();
  return new Uint8Array(webp);
}

type Samples = Map<string, number[]>;

/** Runs one stage and records the process CPU (user + system, all threads) it took, in ms. */
async function cpuTimed<T>(samples: Samples, stage: string, run: () => Promise<T> | T): Promise<T> {
  const start = process.cpuUsage();
  const result = await run();
  const used = process.cpuUsage(start);
  const list = samples.get(stage) ?? [];
  list.push((used.user + used.system) / 1000);
  samples.set(stage, list);
  return result;
}

/** The remover's and analyzer's steps one by one, in the order the worker runs them (see background/local/index.ts). */
async function stagesOnce(original: Uint8Array, samples: Samples): Promise<number> {
  await cpuTimed(samples, REFERENCE_DECODE, () => sharp(original).autoOrient().ensureAlpha().raw().toBuffer());
  const full = await cpuTimed(samples, "decode", () => decodeImage(original));
  const work = await cpuTimed(samples, "working copy", () => workingCopy(full, WORK_SIDE));
  const { width, height } = work.image;
  const model = await cpuTimed(samples, "border model", () => fitBackgroundModel(work.image));
  const distance = await cpuTimed(samples, "distance to model", () => distanceToModel(work.image, model.coefficients));
  const binary = await cpuTimed(samples, "threshold", () => thresholdMask(distance, model.threshold));
  const cleaned = await cpuTimed(samples, "close gaps + remove specks", () => closeGapsAndRemoveSpecks(binary, width, height, closingRadius(width, height)));
  const main = await cpuTimed(samples, "main component + fill holes", () => {
    const component = mainComponent(cleaned, width, height);
    if (component === null) throw new Error("the sample photo should have an object");
    fillHoles(component, width, height);
    return component;
  });
  const matte = await cpuTimed(samples, "feather edge", () => softEdge(main, distance, model, width, height));
  await cpuTimed(samples, "scale matte into alpha", () => applyMatte(full, matte, work.factor));
  const png = await cpuTimed(samples, "encode PNG", () => encodePng(full));
  const jpeg = await cpuTimed(samples, "analyzer: flatten + JPEG", () => imageForAnalysis(png));
  await cpuTimed(samples, "analyzer: base64", () => Buffer.from(jpeg).toString("base64"));
  return png.length;
}

/** The same work through the public entry points, as the worker calls them. */
async function endToEndOnce(original: Uint8Array, samples: Samples, remover: LocalBackgroundRemover): Promise<void> {
  const signal = new AbortController().signal;
  await cpuTimed(samples, "end to end (remove + analyzer image)", async () => {
    const cutout = await remover.remove({ original, signal });
    return Buffer.from(await imageForAnalysis(cutout)).toString("base64");
  });
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

function printTable(samples: Samples): void {
  console.log(`${"stage".padEnd(38)}${"mean".padStart(8)}${"p50".padStart(8)}${"p95".padStart(8)}  (CPU ms)`);
  let sumOfMeans = 0;
  for (const [stage, values] of samples) {
    const sorted = [...values].sort((a, b) => a - b);
    const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
    if (!stage.startsWith("end to end") && stage !== REFERENCE_DECODE) sumOfMeans += mean;
    const row = [mean, percentile(sorted, 0.5), percentile(sorted, 0.95)].map((v) => v.toFixed(2).padStart(8)).join("");
    console.log(`${stage.padEnd(38)}${row}`);
  }
  console.log(`${"sum of stage means".padEnd(38)}${sumOfMeans.toFixed(2).padStart(8)}`);
}

async function main(): Promise<void> {
  const original = await samplePhoto();
  const remover = new LocalBackgroundRemover();
  for (let i = 0; i < WARM_UP; i++) {
    await stagesOnce(original, new Map());
    await endToEndOnce(original, new Map(), remover);
  }
  const samples: Samples = new Map();
  let pngBytes = 0;
  for (let i = 0; i < iterations; i++) {
    pngBytes = await stagesOnce(original, samples);
    await endToEndOnce(original, samples, remover);
  }
  console.log(`image work per asset: ${WIDTH}x${HEIGHT} WebP (${original.length} B), ${iterations} iterations after ${WARM_UP} warm-up runs`);
  console.log(`sharp concurrency ${sharp.concurrency()}, cut-out PNG ${pngBytes} B`);
  printTable(samples);
}

await main();
