/**
 * Times the local (offline) image pipeline stage by stage on a generated
 * 1024 px photo of a camera with a printed label.
 *
 *   bun bench/analyzer.ts [iterations]     (default 10)
 *
 * A first, cold iteration (tesseract worker start, JIT warm-up) is timed on
 * its own and left out of the per-stage figures.
 */
import { analyzeImage, closeOcr, removeBackground } from "@pipeline/vision";
import sharp from "sharp";
import { printStages, recordingTimer, type Samples, wallMs } from "./lib/stages.ts";

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

const TOTAL = "total";

async function main(): Promise<void> {
  const original = await samplePhoto();

  /** One asset: its cut-out, then its metadata, each step timed by the library's own StageTimer. */
  const runOnce = async (samples: Samples): Promise<string> => {
    const time = recordingTimer(samples, wallMs);
    const result = await time(TOTAL, async () => {
      const cutout = await removeBackground(original, { time });
      return analyzeImage({ original, cutout: cutout.png, category: "camera" }, { time });
    });
    const show = (d: { value: string | null; confidence: number }) => `${d.value} (${d.confidence.toFixed(2)})`;
    return `brand=${show(result.brand)}, model=${show(result.model)}, colorway=${show(result.colorway)}`;
  };

  const cold: Samples = new Map();
  await runOnce(cold);
  const samples: Samples = new Map();
  let summary = "";
  for (let i = 0; i < iterations; i++) summary = await runOnce(samples);
  await closeOcr();

  const coldTotal = cold.get(TOTAL)![0]!;
  const coldOcr = cold.get("OCR")![0]!;
  console.log(
    `local pipeline, 1024x768 JPEG, ${iterations} iterations after a cold one (${coldTotal.toFixed(0)} ms, of which OCR incl. worker start ${coldOcr.toFixed(0)} ms)`,
  );
  console.log(`result: ${summary}`);
  printStages(samples, { unit: "ms", digits: 1 });
}

await main();
