/**
 * OCR with tesseract.js, fully offline: the English model is read from the
 * `@tesseract.js-data/eng` package on disk, never from a CDN.
 *
 * Text is found first (text-regions.ts) and only those lines are read, each
 * straightened, scaled and binarised on its own (line-image.ts), as a single
 * line (PSM 7). A photo without text costs no OCR at all.
 *
 * One Tesseract worker (WebAssembly in a worker thread) per thread that uses
 * this module (each JavaScript thread has its own module state), started
 * on first use; jobs queue on it, so concurrent analyses do not multiply
 * memory. A job cannot be interrupted inside Tesseract, so when a caller's
 * signal aborts (the attempt's timeout), the worker is terminated and a fresh
 * one started at once: the next call waits for a start (about a second), not for the
 * abandoned work to finish. Calls of other jobs that were on the terminated
 * worker run again on the new one.
 */

import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page, Worker as TesseractWorker } from "tesseract.js";
import { createWorker, OEM, PSM } from "tesseract.js";
import type { RgbaImage } from "../image.ts";
import { type GreyImage, lineImage, toPgm } from "./line-image.ts";
import { findTextLines, type TextLine } from "./text-regions.ts";

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

/** A line crop with less ink than this (share of its pixels) is not read. */
const MIN_INK_SHARE = 0.005;

function inkShare(image: GreyImage): number {
  let ink = 0;
  for (const value of image.data) if (value === 0) ink++;
  return ink / image.data.length;
}

/** Larger images are shrunk to this before analysis, so callers need not decode them larger. */
export const OCR_MAX_SIDE = 2400;

/**
 * Reading order: rows top to bottom, then left to right, both measured along
 * the lines' own direction (their length-weighted mean angle), so the lines
 * of a label turned 15° are not read by the height of their centres.
 */
function readingOrder(lines: TextLine[]): TextLine[] {
  const weight = lines.reduce((sum, l) => sum + l.length, 0);
  const angle = weight === 0 ? 0 : lines.reduce((sum, l) => sum + l.angle * l.length, 0) / weight;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const placed = lines.map((line) => ({ line, u: line.cx * cos + line.cy * sin, v: -line.cx * sin + line.cy * cos }));
  return placed.sort((a, b) => (Math.abs(a.v - b.v) > 0.5 * Math.min(a.line.letterHeight, b.line.letterHeight) ? a.v - b.v : a.u - b.u)).map((p) => p.line);
}

/**
 * Reads the text of an image: the lines found in it, in reading order.
 * Transparent parts (a cutout's backdrop) are not searched, nor lines centred
 * on an opaque pixel of `readBefore` (a cutout of the same size already read).
 * Throws `signal.reason` when aborted.
 */
export async function readText(img: RgbaImage, signal: AbortSignal, readBefore?: RgbaImage): Promise<OcrLine[]> {
  signal.throwIfAborted();
  const isNew = (line: TextLine) => {
    if (readBefore === undefined) return true;
    const x = Math.min(readBefore.width - 1, Math.max(0, Math.round(line.cx)));
    const y = Math.min(readBefore.height - 1, Math.max(0, Math.round(line.cy)));
    return readBefore.data[(y * readBefore.width + x) * 4 + 3]! <= 128;
  };
  const found = readingOrder(findTextLines(img).filter(isNew));
  const lines: OcrLine[] = [];
  for (const line of found) {
    const image = lineImage(img, line);
    // Nothing left after binarising (a faint edge found as a line): nothing to read.
    if (inkShare(image) < MIN_INK_SHARE) continue;
    lines.push(...(await recognise(toPgm(image), signal)));
  }
  return lines;
}

// ---------------------------------------------------------------------------
// The shared worker, restarted when a call is abandoned.

/** Rejects the calls of a worker that was terminated under them (they run again on the next). */
class WorkerRestarted extends Error {
  override name = "WorkerRestarted";
}

type Engine = { worker: Promise<TesseractWorker>; inFlight: Set<(error: Error) => void> };
let engine: Engine | null = null;
let workersStarted = 0;

/** How many Tesseract workers this thread has started (one more after every abandoned call). */
export function ocrWorkersStarted(): number {
  return workersStarted;
}

function currentEngine(): Engine {
  if (engine !== null) return engine;
  workersStarted++;
  const started: Engine = {
    worker: startWorker().catch((error: unknown) => {
      if (engine === started) engine = null; // let the next call try again
      throw error;
    }),
    inFlight: new Set(),
  };
  engine = started;
  return started;
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
    // A failed job rejects its own promise; without a handler tesseract.js also throws it in its message listener.
    errorHandler: () => {},
  });
  await created.setParameters({
    // Each image is one straightened line of text.
    tessedit_pageseg_mode: PSM.SINGLE_LINE,
    // Images carry no trustworthy DPI; fixing it avoids tesseract's guess (and its warning).
    user_defined_dpi: "300",
    // Tesseract prints statistics of empty lines to stderr; they would interleave with the service's JSON logs.
    debug_file: "/dev/null",
  });
  return created;
}

/** Reads one image (a PGM or PNG of a line) on the shared worker; runs again on a fresh worker if another caller's abort terminated this one. */
export async function recognise(image: Buffer, signal: AbortSignal): Promise<OcrLine[]> {
  for (;;) {
    signal.throwIfAborted();
    try {
      return linesOf(await recogniseOn(currentEngine(), image, signal));
    } catch (error) {
      if (!(error instanceof WorkerRestarted)) throw error;
    }
  }
}

function recogniseOn(current: Engine, image: Buffer, signal: AbortSignal): Promise<Page> {
  return new Promise<Page>((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason);
      restartOcr(current);
    };
    current.inFlight.add(reject);
    signal.addEventListener("abort", onAbort, { once: true });
    current.worker
      .then((worker) => worker.recognize(image, {}, { text: false, blocks: true }))
      .then((result) => resolve(result.data), reject)
      .finally(() => {
        current.inFlight.delete(reject);
        signal.removeEventListener("abort", onAbort);
      });
  });
}

/**
 * Terminates `current` (if it is still the shared worker) and starts its
 * replacement now, so the next call does not wait for abandoned work.
 */
function restartOcr(current: Engine): void {
  if (engine !== current) return; // already replaced
  engine = null;
  for (const reject of current.inFlight) reject(new WorkerRestarted("OCR worker restarted"));
  current.worker.then((worker) => worker.terminate()).catch(() => {});
  currentEngine();
}

/** Terminates the shared worker (tests, shutdown); the next OCR call starts a new one. */
export async function closeOcr(): Promise<void> {
  const current = engine;
  engine = null;
  if (current === null) return;
  for (const reject of current.inFlight) reject(new Error("OCR closed"));
  const started = await current.worker.catch(() => null);
  await started?.terminate();
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
