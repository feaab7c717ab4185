/**
 * OCR with tesseract.js, fully offline: the English model is read from the
 * `@tesseract.js-data/eng` package on disk, never from a CDN. One worker
 * (a WebAssembly Tesseract in a worker thread) is started on first use and
 * reused; jobs queue on it, so concurrent analyses do not multiply memory.
 */

import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import type { Page, Worker as TesseractWorker } from "tesseract.js";
import { createWorker, OEM, PSM } from "tesseract.js";
import type { RgbaImage } from "../../image.ts";

export interface OcrWord {
  text: string;
  /** 0..1 */
  confidence: number;
}
export interface OcrLine extends OcrWord {
  words: OcrWord[];
}

/**
 * The LSTM-only "best_int" model: the one tesseract.js itself would fetch for
 * OEM.LSTM_ONLY (the package's default folder, 4.0.0, also carries the legacy
 * engine's data: 11 MB instead of 3 MB, and slower to load).
 */
const ENG_MODEL_DIR = join(dirname(fileURLToPath(import.meta.resolve("@tesseract.js-data/eng/package.json"))), "4.0.0_best_int");

/** Text is read best with glyphs ~20-40 px tall: small images are enlarged, huge ones shrunk (time grows with pixels). */
const OCR_MIN_SIDE = 1200;
/** Larger images are shrunk to this before OCR, so callers need not decode them larger. */
export const OCR_MAX_SIDE = 2400;
const OCR_MAX_UPSCALE = 2;

let worker: Promise<TesseractWorker> | null = null;

function ocrWorker(): Promise<TesseractWorker> {
  worker ??= startWorker().catch((error: unknown) => {
    worker = null; // let the next call try again
    throw error;
  });
  return worker;
}

async function startWorker(): Promise<TesseractWorker> {
  const modelFile = join(ENG_MODEL_DIR, "eng.traineddata.gz");
  // Without the file tesseract.js would fail later with a vaguer message; never fall back to a download.
  if (!existsSync(modelFile)) throw new Error(`tesseract model missing: ${modelFile} (install @tesseract.js-data/eng)`);
  const created = await createWorker("eng", OEM.LSTM_ONLY, {
    // A local folder (not a URL) makes tesseract.js read the file instead of fetching it.
    langPath: ENG_MODEL_DIR,
    gzip: true,
    // Nothing to cache (the model is already local); if caching were ever switched on,
    // it would write to the temp folder rather than the process's working directory.
    cacheMethod: "none",
    cachePath: join(tmpdir(), "ai-worker-tesseract"),
    logger: () => {},
  });
  await created.setParameters({
    // Automatic layout: on product labels it read more than SPARSE_TEXT (which splits
    // words off their lines) or SINGLE_BLOCK (which misses text away from the centre).
    tessedit_pageseg_mode: PSM.AUTO,
    // Images carry no trustworthy DPI; fixing it avoids tesseract's guess (and its warning).
    user_defined_dpi: "300",
  });
  return created;
}

/** Terminates the shared worker (tests, shutdown); the next OCR call starts a new one. */
export async function closeOcr(): Promise<void> {
  const current = worker;
  worker = null;
  if (current === null) return;
  const started = await current.catch(() => null);
  await started?.terminate();
}

/**
 * Reads the text of an image. Transparent parts (a cutout's backdrop) become
 * white. Throws `signal.reason` when aborted; the job then finishes in the
 * background (a tesseract job cannot be interrupted) and its result is dropped.
 */
export async function readText(img: RgbaImage, signal: AbortSignal): Promise<OcrLine[]> {
  signal.throwIfAborted();
  const prepared = await prepareForOcr(img);
  const engine = await abortable(ocrWorker(), signal);
  const result = await abortable(engine.recognize(prepared, {}, { text: false, blocks: true }), signal);
  return linesOf(result.data);
}

/** Greyscale PNG with dark text on a white surface, scaled so text is a size tesseract reads well. */
async function prepareForOcr(img: RgbaImage): Promise<Buffer> {
  const longSide = Math.max(img.width, img.height);
  const scale = longSide < OCR_MIN_SIDE ? Math.min(OCR_MAX_UPSCALE, OCR_MIN_SIDE / longSide) : longSide > OCR_MAX_SIDE ? OCR_MAX_SIDE / longSide : 1;
  return sharp(surfaceNormalisedLuma(img), { raw: { width: img.width, height: img.height, channels: 1 } })
    .resize(Math.round(img.width * scale), Math.round(img.height * scale), { fit: "fill", kernel: "cubic" })
    .png({ compressionLevel: 1 }) // tesseract decodes it at once: speed over size
    .toBuffer();
}

/**
 * Luma in which the item's dominant surface is white and whatever contrasts
 * with it (print) is dark; transparent pixels are white.
 *
 * Why: tesseract binarises the page with one global Otsu threshold. White
 * print on a dark camera body, or dark print on a mid-grey box standing on a
 * white backdrop, falls on the same side of that threshold as its surface and
 * vanishes. So: take the median luma of the opaque pixels (the surface), invert
 * when it is dark, and scale it up to white.
 */
export function surfaceNormalisedLuma(img: RgbaImage): Uint8Array {
  const { data } = img;
  const pixels = img.width * img.height;
  const luma = new Uint8Array(pixels);
  const histogram = new Uint32Array(256);
  let opaque = 0;
  for (let i = 0, p = 0; i < pixels; i++, p += 4) {
    const l = (77 * data[p]! + 150 * data[p + 1]! + 29 * data[p + 2]!) >> 8; // BT.601 weights / 256
    luma[i] = l;
    if (data[p + 3]! > 128) {
      histogram[l]!++;
      opaque++;
    }
  }
  let surface = 255;
  for (let l = 0, seen = 0; opaque > 0 && l < 256; l++) {
    seen += histogram[l]!;
    if (2 * seen >= opaque) {
      surface = l;
      break;
    }
  }
  const invert = surface < 128;
  const gain = 255 / Math.max(32, invert ? 255 - surface : surface);
  const out = new Uint8Array(pixels);
  for (let i = 0, p = 3; i < pixels; i++, p += 4) {
    const l = invert ? 255 - luma[i]! : luma[i]!;
    const alpha = data[p]! / 255;
    out[i] = Math.min(255, l * gain) * alpha + 255 * (1 - alpha);
  }
  return out;
}

function linesOf(page: Page): OcrLine[] {
  const lines: OcrLine[] = [];
  for (const block of page.blocks ?? []) {
    for (const paragraph of block.paragraphs) {
      for (const line of paragraph.lines) {
        const words = line.words.map((w) => ({ text: w.text.trim(), confidence: w.confidence / 100 })).filter((w) => w.text.length > 0);
        if (words.length === 0) continue;
        lines.push({ text: words.map((w) => w.text).join(" "), confidence: line.confidence / 100, words });
      }
    }
  }
  return lines;
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
