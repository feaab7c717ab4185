/**
 * One found line of text as the reader wants it: cut out of the photo
 * straightened (the line's own angle), scaled so its letters are about
 * READ_LETTER_HEIGHT px tall (small print is enlarged, large print shrunk:
 * Tesseract's line recogniser works at a fixed height, and time grows with
 * pixels), turned dark-on-light by its own surface (per line, not per photo),
 * and binarised with a local (Sauvola) threshold.
 */
import type { RgbaImage } from "../image.ts";
import type { TextLine } from "./text-regions.ts";

/** One byte per pixel. */
export type GreyImage = { width: number; height: number; data: Uint8Array };

/** Letter height the crop is scaled to (Tesseract reads best with capitals of ~30-40 px). */
export const READ_LETTER_HEIGHT = 36;
const MIN_SCALE = 0.5;
const MAX_SCALE = 3;
/** Tesseract refuses images wider than 32767 px, and time grows with width: a longer line is read smaller. */
const MAX_WIDTH = 6000;
/** Margin around the ink, in letter heights: a recogniser needs some quiet surface around a line. */
const PAD_ALONG = 0.7;
const PAD_ACROSS = 0.45;
/** Sauvola's k and dynamic range R (for 8-bit grey). */
const SAUVOLA_K = 0.25;
const SAUVOLA_R = 128;
const OPAQUE = 128;

export function lineImage(img: RgbaImage, line: TextLine): GreyImage {
  const halfU = line.length / 2 + PAD_ALONG * line.letterHeight;
  const wanted = Math.min(MAX_SCALE, Math.max(MIN_SCALE, READ_LETTER_HEIGHT / line.letterHeight));
  const scale = Math.min(wanted, MAX_WIDTH / (2 * halfU));
  const halfV = line.thickness / 2 + PAD_ACROSS * line.letterHeight;
  const width = Math.max(1, Math.round(2 * halfU * scale));
  const height = Math.max(1, Math.round(2 * halfV * scale));
  const { grey, opaque } = sampleRotated(img, line, scale, halfU, halfV, width, height);

  const threshold = otsu(grey, opaque);
  // The surface is what lies outside the ink box (the margin): mostly one side of the threshold.
  let surfaceLight = 0;
  let surfaceDark = 0;
  const inkU = (line.length / 2) * scale;
  const inkV = (line.thickness / 2) * scale;
  for (let y = 0; y < height; y++) {
    const v = Math.abs(y + 0.5 - height / 2);
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (opaque[i] === 0 || (v <= inkV && Math.abs(x + 0.5 - width / 2) <= inkU)) continue;
      if (grey[i]! > threshold) surfaceLight++;
      else surfaceDark++;
    }
  }
  if (surfaceDark > surfaceLight) for (let i = 0; i < grey.length; i++) grey[i] = 255 - grey[i]!;
  // Off the item (transparent in the cutout) counts as surface.
  for (let i = 0; i < grey.length; i++) if (opaque[i] === 0) grey[i] = 255;
  return { width, height, data: sauvola(grey, width, height, Math.max(7, Math.round(1.2 * READ_LETTER_HEIGHT))) };
}

/** Bilinear samples of luma (and opacity) on the line's own axes: u along the text, v across it. */
function sampleRotated(img: RgbaImage, line: TextLine, scale: number, halfU: number, halfV: number, width: number, height: number) {
  const grey = new Uint8Array(width * height);
  const opaque = new Uint8Array(width * height);
  const cos = Math.cos(line.angle);
  const sin = Math.sin(line.angle);
  const { data } = img;
  const lumaAt = (x: number, y: number) => {
    const p = (y * img.width + x) * 4;
    return data[p + 3]! > OPAQUE ? (77 * data[p]! + 150 * data[p + 1]! + 29 * data[p + 2]!) / 256 : -1;
  };
  for (let j = 0; j < height; j++) {
    const v = (j + 0.5) / scale - halfV;
    for (let i = 0; i < width; i++) {
      const u = (i + 0.5) / scale - halfU;
      const x = line.cx + u * cos - v * sin;
      const y = line.cy + u * sin + v * cos;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      if (x0 < 0 || y0 < 0 || x0 + 1 >= img.width || y0 + 1 >= img.height) continue;
      const fx = x - x0;
      const fy = y - y0;
      // Transparent neighbours drop out of the weighted mean; none opaque leaves the sample off the item.
      let sum = 0;
      let weight = 0;
      const corners: [number, number, number][] = [
        [x0, y0, (1 - fx) * (1 - fy)],
        [x0 + 1, y0, fx * (1 - fy)],
        [x0, y0 + 1, (1 - fx) * fy],
        [x0 + 1, y0 + 1, fx * fy],
      ];
      for (const [cx, cy, w] of corners) {
        const l = lumaAt(cx, cy);
        if (l < 0) continue;
        sum += l * w;
        weight += w;
      }
      if (weight < 0.5) continue;
      grey[j * width + i] = sum / weight;
      opaque[j * width + i] = 1;
    }
  }
  return { grey, opaque };
}

/** Otsu's threshold over the opaque samples. */
function otsu(grey: Uint8Array, opaque: Uint8Array): number {
  const histogram = new Float64Array(256);
  let n = 0;
  for (let i = 0; i < grey.length; i++) {
    if (opaque[i] === 0) continue;
    histogram[grey[i]!]!++;
    n++;
  }
  let total = 0;
  for (let l = 0; l < 256; l++) total += l * histogram[l]!;
  let below = 0;
  let belowSum = 0;
  let best = 127;
  let bestVariance = -1;
  for (let t = 0; t < 256; t++) {
    below += histogram[t]!;
    if (below === 0 || below === n) continue;
    belowSum += t * histogram[t]!;
    const meanBelow = belowSum / below;
    const meanAbove = (total - belowSum) / (n - below);
    const variance = below * (n - below) * (meanBelow - meanAbove) ** 2;
    if (variance > bestVariance) {
      bestVariance = variance;
      best = t;
    }
  }
  return best;
}

/** Sauvola binarisation: ink (0) where a pixel is below mean x (1 + k (sd / R - 1)) of its window, else 255. */
function sauvola(grey: Uint8Array, width: number, height: number, window: number): Uint8Array {
  const w1 = width + 1;
  const sum = new Float64Array(w1 * (height + 1));
  const squares = new Float64Array(w1 * (height + 1));
  for (let y = 0; y < height; y++) {
    let rowSum = 0;
    let rowSquares = 0;
    for (let x = 0; x < width; x++) {
      const l = grey[y * width + x]!;
      rowSum += l;
      rowSquares += l * l;
      const o = (y + 1) * w1 + x + 1;
      sum[o] = sum[o - w1]! + rowSum;
      squares[o] = squares[o - w1]! + rowSquares;
    }
  }
  const out = new Uint8Array(width * height);
  const r = window >> 1;
  for (let y = 0; y < height; y++) {
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(height, y + r + 1);
    for (let x = 0; x < width; x++) {
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(width, x + r + 1);
      const n = (y1 - y0) * (x1 - x0);
      const s = sum[y1 * w1 + x1]! - sum[y0 * w1 + x1]! - sum[y1 * w1 + x0]! + sum[y0 * w1 + x0]!;
      const q = squares[y1 * w1 + x1]! - squares[y0 * w1 + x1]! - squares[y1 * w1 + x0]! + squares[y0 * w1 + x0]!;
      const mean = s / n;
      const deviation = Math.sqrt(Math.max(0, q / n - mean * mean));
      out[y * width + x] = grey[y * width + x]! < mean * (1 + SAUVOLA_K * (deviation / SAUVOLA_R - 1)) ? 0 : 255;
    }
  }
  return out;
}

/** The crop as a binary PGM (P5): Leptonica inside tesseract reads it without any encoder on our side. */
export function toPgm(image: GreyImage): Buffer {
  return Buffer.concat([Buffer.from(`P5\n${image.width} ${image.height}\n255\n`, "ascii"), image.data]);
}
