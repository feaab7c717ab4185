/**
 * Times the local (offline) image pipeline stage by stage on a generated
 * 1024 px photo of a camera with a printed label.
 *
 *   bun bench/analyzer.ts [iterations]     (default 10)
 *
 * A first, cold iteration (tesseract worker start, JIT warm-up) is timed on
 * its own and left out of the per-stage figures.
 */
import sharp from "sharp";
import { matchCatalogue } from "../packages/vision/src/analyzer/catalogue.ts";
import { detectColorway } from "../packages/vision/src/analyzer/colorway.ts";
import { closeOcr, readText } from "../packages/vision/src/analyzer/ocr.ts";
import { cutOutForeground } from "../packages/vision/src/background/index.ts";
import { decodeImage, encodePng } from "../packages/vision/src/image.ts";

const iterations = Math.max(1, Number(process.argv[2] ?? 10) || 10);

/** A camera on a softly graded backdrop, as an upload would be: JPEG, 1024 x 768. */
async function samplePhoto(): Promise<Uint8Array> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="768">
    <defs><linearGradient id="bg" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#f4f4f2"/><stop offset="1" stop-color="#d8d8d4"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#bg)"/>
    <rect x="200" y="250" width="620" height="360" rx="40" fill="#222"/>
    <rect x="330" y="190" width="200" height="80" rx="12" fill="#2a2a2a"/>
    <circle cx="600" cy="460" r="125" fill="#555"/><circle cx="600" cy="460" r="75" fill="#111"/>
    <text x="240" y="320" font-family="DejaVu Sans" font-weight="bold" font-size="40" fill="#fff">Canon EOS R5</text>
  </svg>`;
  return new Uint8Array(await sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer());
}

const STAGES = ["decode", "background removal", "encode PNG", "decode cutout", "colorway", "OCR", "catalogue match", "total"] as const;
type Stage = (typeof STAGES)[number];

async function timed<T>(samples: Map<Stage, number[]>, stage: Stage, run: () => Promise<T> | T): Promise<T> {
  const start = performance.now();
  const result = await run();
  samples.get(stage)!.push(performance.now() - start);
  return result;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const original = await samplePhoto();
  const signal = new AbortController().signal;

  const runOnce = async (samples: Map<Stage, number[]>): Promise<string> => {
    const begin = performance.now();
    const full = await timed(samples, "decode", () => decodeImage(original));
    const cutout = await timed(samples, "background removal", () => cutOutForeground(full, signal));
    const png = await timed(samples, "encode PNG", () => encodePng(cutout));
    const item = await timed(samples, "decode cutout", () => decodeImage(png));
    const colorway = await timed(samples, "colorway", () => detectColorway(item));
    const lines = await timed(samples, "OCR", () => readText(item, signal));
    const match = await timed(samples, "catalogue match", () => matchCatalogue(lines, "camera"));
    samples.get("total")!.push(performance.now() - begin);
    const show = (d: { value: string | null; confidence: number }) => `${d.value} (${d.confidence.toFixed(2)})`;
    return `brand=${show(match.brand)}, model=${show(match.model)}, colorway=${show(colorway)}`;
  };

  const cold = new Map<Stage, number[]>(STAGES.map((stage) => [stage, []]));
  await runOnce(cold);
  const samples = new Map<Stage, number[]>(STAGES.map((stage) => [stage, []]));
  let summary = "";
  for (let i = 0; i < iterations; i++) summary = await runOnce(samples);
  await closeOcr();

  const coldTotal = cold.get("total")![0]!;
  const coldOcr = cold.get("OCR")![0]!;
  console.log(
    `local pipeline, 1024x768 JPEG, ${iterations} iterations after a cold one (${coldTotal.toFixed(0)} ms, of which OCR incl. worker start ${coldOcr.toFixed(0)} ms)`,
  );
  console.log(`result: ${summary}`);
  console.log(`${"stage".padEnd(20)}${"mean".padStart(9)}${"p50".padStart(9)}${"p95".padStart(9)}  (ms)`);
  for (const stage of STAGES) {
    const values = samples.get(stage)!;
    const sorted = [...values].sort((a, b) => a - b);
    const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
    const row = [mean, percentile(sorted, 0.5), percentile(sorted, 0.95)].map((v) => v.toFixed(1).padStart(9)).join("");
    console.log(`${stage.padEnd(20)}${row}`);
  }
}

await main();
