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
import { removeBackground } from "@pipeline/vision";
import sharp from "sharp";
import { imageForAnalysis } from "../services/ai-worker/src/analyzer/openai.ts";
import { cpuMs, printStages, recordingTimer, type Samples } from "./lib/stages.ts";

const WIDTH = 600;
const HEIGHT = 400;
const WARM_UP = 30;
/** What decoding through sharp alone costs, for comparison; not part of the pipeline's sum. */
const REFERENCE_DECODE = "(reference: decode with sharp)";
const END_TO_END = "end to end (remove + analyzer image)";
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

/** The remover's steps as it runs them (its own StageTimer names them), then the OpenAI analyzer's image. */
async function stagesOnce(original: Uint8Array, samples: Samples): Promise<number> {
  const time = recordingTimer(samples, cpuMs);
  await time(REFERENCE_DECODE, () => sharp(original).autoOrient().ensureAlpha().raw().toBuffer());
  const { png } = await removeBackground(original, { time });
  const jpeg = await time("analyzer: flatten + JPEG", () => imageForAnalysis(png));
  time("analyzer: base64", () => Buffer.from(jpeg).toString("base64"));
  return png.length;
}

/** The same work untimed inside, as the worker calls it. */
async function endToEndOnce(original: Uint8Array, samples: Samples): Promise<void> {
  await recordingTimer(samples, cpuMs)(END_TO_END, async () => {
    const { png } = await removeBackground(original);
    return Buffer.from(await imageForAnalysis(png)).toString("base64");
  });
}

async function main(): Promise<void> {
  const original = await samplePhoto();
  for (let i = 0; i < WARM_UP; i++) {
    await stagesOnce(original, new Map());
    await endToEndOnce(original, new Map());
  }
  const samples: Samples = new Map();
  let pngBytes = 0;
  for (let i = 0; i < iterations; i++) {
    pngBytes = await stagesOnce(original, samples);
    await endToEndOnce(original, samples);
  }
  console.log(`image work per asset: ${WIDTH}x${HEIGHT} WebP (${original.length} B), ${iterations} iterations after ${WARM_UP} warm-up runs`);
  console.log(`sharp concurrency ${sharp.concurrency()}, cut-out PNG ${pngBytes} B`);
  printStages(samples, { unit: "CPU ms", digits: 2, summed: (stage) => stage !== END_TO_END && stage !== REFERENCE_DECODE });
}

await main();
