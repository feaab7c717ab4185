/**
 * Offline background removal for product photos: the item stands on a fairly
 * plain (possibly gently graded) backdrop, so the backdrop is modelled from
 * the image border and everything that departs from that model is the item.
 */
import type { BackgroundRemovalInput, BackgroundRemover } from "../providers.ts";
import { decodeImage, encodePng, resizePlane, type RgbaImage } from "../image.ts";

/** The mask is computed on a copy whose longer side is at most this (speed), then upscaled. */
export const WORK_SIDE = 512;

export class LocalBackgroundRemover implements BackgroundRemover {
  readonly name = "local";

  async remove({ original, signal }: BackgroundRemovalInput): Promise<Uint8Array> {
    signal.throwIfAborted();
    // Two decodes in parallel: the small one uses JPEG shrink-on-load, so it is cheap.
    const [full, work] = await Promise.all([decodeImage(original), decodeImage(original, WORK_SIDE)]);
    signal.throwIfAborted();
    const cutout = cutOutForeground(full, work, signal);
    signal.throwIfAborted();
    return encodePng(cutout);
  }
}

/**
 * Sets `full`'s alpha (in place) from the foreground mask computed on `work`,
 * a downscaled copy of the same image, and returns `full`.
 */
export function cutOutForeground(full: RgbaImage, work: RgbaImage, signal?: AbortSignal): RgbaImage {
  const mask = computeForegroundMask(work);
  signal?.throwIfAborted();
  const alpha = resizePlane(mask, work, full);
  const data = full.data;
  for (let i = 0, p = 3; i < alpha.length; i++, p += 4) {
    // Multiply, so pixels already transparent in the original stay so.
    data[p] = (data[p]! * alpha[i]! + 127) / 255;
  }
  return full;
}

/**
 * Alpha (0..255, one byte per pixel) of the main object of `img`: 255 inside,
 * 0 on the backdrop, a soft ramp along the outline. When no object stands out, the
 * whole image is kept (all 255): losing the item is worse than keeping the backdrop.
 */
export function computeForegroundMask(img: RgbaImage): Uint8Array {
  const { width, height } = img;
  const model = fitBackgroundModel(img);
  const distance = distanceToModel(img, model.coefficients);
  const binary = new Uint8Array(width * height);
  for (let i = 0; i < binary.length; i++) binary[i] = distance[i]! > model.threshold ? 1 : 0;

  // Close small gaps (text, seams) first, then drop specks of sensor/JPEG noise.
  const radius = Math.max(1, Math.round(Math.max(width, height) / 256));
  const cleaned = erode(dilate(binary, width, height, radius), width, height, radius);
  const opened = dilate(erode(cleaned, width, height, 1), width, height, 1);

  const main = mainComponent(opened, width, height);
  if (main === null) return new Uint8Array(width * height).fill(255);
  fillHoles(main, width, height);
  return softEdge(main, distance, model.threshold, width, height);
}

// ---------------------------------------------------------------------------
// Background model: per channel, a quadric surface c(x, y) fitted to the border.

/** Basis terms of the surface: 1, x, y, x², y², xy (x, y in -1..1). A plain backdrop, a linear gradient and a mild vignette all fit. */
const TERMS = 6;
/** Residual distances below this never count as outliers (flat synthetic borders have ~0 spread). */
const MIN_INLIER_CUTOFF = 10;
/** Lowest colour distance (RGB, 0..441) that separates object from backdrop. */
const MIN_THRESHOLD = 20;
const MAX_BORDER_SAMPLES = 12_000;

export type BackgroundModel = {
  /** [channel][term] coefficients of the quadric per R, G, B channel. */
  coefficients: Float64Array[];
  /** Colour distance above which a pixel is foreground. */
  threshold: number;
};

type BorderSamples = { x: Float64Array; y: Float64Array; rgb: Float64Array; count: number };

/**
 * Fits the backdrop from a band along the image border, robustly: start from
 * the per-channel median (indifferent to an object covering < half the
 * border), then alternate "fit the quadric to the inliers" and "inliers =
 * samples within 3 robust sigmas". The threshold comes from the residual
 * spread of the inliers, so a noisy or textured backdrop raises it.
 */
export function fitBackgroundModel(img: RgbaImage): BackgroundModel {
  const samples = sampleBorder(img);
  const residual = new Float64Array(samples.count);
  const inlier = new Uint8Array(samples.count);

  let coefficients = constantModel(samples);
  for (let iteration = 0; iteration < 4; iteration++) {
    residualDistances(samples, coefficients, residual);
    const sigma = 1.4826 * median(residual);
    const cutoff = Math.max(MIN_INLIER_CUTOFF, 3 * sigma);
    let inliers = 0;
    for (let i = 0; i < samples.count; i++) {
      inlier[i] = residual[i]! <= cutoff ? 1 : 0;
      inliers += inlier[i]!;
    }
    const fitted = inliers >= 4 * TERMS ? fitQuadric(samples, inlier) : null;
    if (fitted === null) break;
    coefficients = fitted;
  }

  residualDistances(samples, coefficients, residual);
  const sigma = 1.4826 * median(residual);
  const inlierResiduals = residual.filter((d) => d <= Math.max(MIN_INLIER_CUTOFF, 3 * sigma));
  const p95 = quantile(inlierResiduals, 0.95);
  return { coefficients, threshold: Math.max(MIN_THRESHOLD, 2 * p95) };
}

function sampleBorder(img: RgbaImage): BorderSamples {
  const { width, height, data } = img;
  const band = Math.max(2, Math.round(Math.min(width, height) * 0.03));
  const bandPixels = 2 * band * width + 2 * band * Math.max(0, height - 2 * band);
  const step = Math.max(1, Math.ceil(bandPixels / MAX_BORDER_SAMPLES));
  const capacity = Math.ceil(bandPixels / step) + 1;
  const x = new Float64Array(capacity);
  const y = new Float64Array(capacity);
  const rgb = new Float64Array(capacity * 3);
  let count = 0;
  let seen = 0;
  for (let py = 0; py < height; py++) {
    const inRowBand = py < band || py >= height - band;
    for (let px = 0; px < width; px++) {
      if (!inRowBand && px >= band && px < width - band) {
        px = width - band - 1; // skip the interior of this row
        continue;
      }
      if (seen++ % step !== 0 || count >= capacity) continue;
      const p = (py * width + px) * 4;
      x[count] = normalisedCoordinate(px, width);
      y[count] = normalisedCoordinate(py, height);
      rgb[count * 3] = data[p]!;
      rgb[count * 3 + 1] = data[p + 1]!;
      rgb[count * 3 + 2] = data[p + 2]!;
      count++;
    }
  }
  return { x, y, rgb, count };
}

/** Pixel index to -1..1, so the quadric's terms are of comparable size. */
function normalisedCoordinate(index: number, size: number): number {
  return size > 1 ? (2 * index) / (size - 1) - 1 : 0;
}

function basis(x: number, y: number, out: Float64Array): void {
  out[0] = 1;
  out[1] = x;
  out[2] = y;
  out[3] = x * x;
  out[4] = y * y;
  out[5] = x * y;
}

function constantModel(samples: BorderSamples): Float64Array[] {
  const channel = new Float64Array(samples.count);
  return [0, 1, 2].map((c) => {
    for (let i = 0; i < samples.count; i++) channel[i] = samples.rgb[i * 3 + c]!;
    const coefficients = new Float64Array(TERMS);
    coefficients[0] = median(channel);
    return coefficients;
  });
}

/** Least squares over the inliers (normal equations, 6x6); null when singular. */
function fitQuadric(samples: BorderSamples, inlier: Uint8Array): Float64Array[] | null {
  const ata = new Float64Array(TERMS * TERMS);
  const atb = [new Float64Array(TERMS), new Float64Array(TERMS), new Float64Array(TERMS)];
  const phi = new Float64Array(TERMS);
  for (let i = 0; i < samples.count; i++) {
    if (inlier[i] === 0) continue;
    basis(samples.x[i]!, samples.y[i]!, phi);
    for (let r = 0; r < TERMS; r++) {
      const pr = phi[r]!;
      for (let c = 0; c < TERMS; c++) ata[r * TERMS + c]! += pr * phi[c]!;
      for (let ch = 0; ch < 3; ch++) atb[ch]![r]! += pr * samples.rgb[i * 3 + ch]!;
    }
  }
  const solved = atb.map((rhs) => solveLinear(ata.slice(), rhs.slice(), TERMS));
  return solved.every((s): s is Float64Array => s !== null) ? solved : null;
}

/** Gaussian elimination with partial pivoting on an n x n system (inputs are overwritten). */
function solveLinear(a: Float64Array, b: Float64Array, n: number): Float64Array | null {
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col]!) > Math.abs(a[pivot * n + col]!)) pivot = r;
    if (Math.abs(a[pivot * n + col]!) < 1e-9) return null;
    if (pivot !== col) {
      for (let c = 0; c < n; c++) {
        const t = a[col * n + c]!;
        a[col * n + c] = a[pivot * n + c]!;
        a[pivot * n + c] = t;
      }
      const t = b[col]!;
      b[col] = b[pivot]!;
      b[pivot] = t;
    }
    for (let r = col + 1; r < n; r++) {
      const f = a[r * n + col]! / a[col * n + col]!;
      if (f === 0) continue;
      for (let c = col; c < n; c++) a[r * n + c]! -= f * a[col * n + c]!;
      b[r]! -= f * b[col]!;
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let c = r + 1; c < n; c++) s -= a[r * n + c]! * x[c]!;
    x[r] = s / a[r * n + r]!;
  }
  return x;
}

function residualDistances(samples: BorderSamples, coefficients: Float64Array[], out: Float64Array): void {
  const phi = new Float64Array(TERMS);
  for (let i = 0; i < samples.count; i++) {
    basis(samples.x[i]!, samples.y[i]!, phi);
    let sum = 0;
    for (let ch = 0; ch < 3; ch++) {
      const k = coefficients[ch]!;
      let predicted = 0;
      for (let t = 0; t < TERMS; t++) predicted += k[t]! * phi[t]!;
      const d = samples.rgb[i * 3 + ch]! - predicted;
      sum += d * d;
    }
    out[i] = Math.sqrt(sum);
  }
}

/** Euclidean RGB distance of every pixel to the backdrop surface. */
function distanceToModel(img: RgbaImage, coefficients: Float64Array[]): Float32Array {
  const { width, height, data } = img;
  const out = new Float32Array(width * height);
  const [kr, kg, kb] = coefficients as [Float64Array, Float64Array, Float64Array];
  for (let py = 0; py < height; py++) {
    const y = normalisedCoordinate(py, height);
    // Per row the quadric is a parabola in x: c0 + c1 x + c3 x² with row-constant parts folded in.
    const rowR = kr[0]! + kr[2]! * y + kr[4]! * y * y;
    const rowG = kg[0]! + kg[2]! * y + kg[4]! * y * y;
    const rowB = kb[0]! + kb[2]! * y + kb[4]! * y * y;
    const linR = kr[1]! + kr[5]! * y;
    const linG = kg[1]! + kg[5]! * y;
    const linB = kb[1]! + kb[5]! * y;
    for (let px = 0, i = py * width, p = i * 4; px < width; px++, i++, p += 4) {
      const x = normalisedCoordinate(px, width);
      const dr = data[p]! - (rowR + linR * x + kr[3]! * x * x);
      const dg = data[p + 1]! - (rowG + linG * x + kg[3]! * x * x);
      const db = data[p + 2]! - (rowB + linB * x + kb[3]! * x * x);
      out[i] = Math.sqrt(dr * dr + dg * dg + db * db);
    }
  }
  return out;
}

function median(values: Float64Array): number {
  return quantile(values, 0.5);
}

function quantile(values: Float64Array, q: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

// ---------------------------------------------------------------------------
// Binary mask clean-up (masks are 0/1 bytes, row-major).

/**
 * Max (dilate) or min (erode) of a 0/1 mask over a (2r+1)² square, separably,
 * with running sums so the cost does not grow with r. The window is clipped at
 * the image edge (the same as repeating the edge pixel), so objects touching
 * the border are not eaten.
 */
function squareFilter(mask: Uint8Array, width: number, height: number, radius: number, useMax: boolean): Uint8Array {
  const horizontal = new Uint8Array(mask.length);
  const prefix = new Int32Array(Math.max(width, height) + 1);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) prefix[x + 1] = prefix[x]! + mask[row + x]!;
    for (let x = 0; x < width; x++) {
      const from = Math.max(0, x - radius);
      const to = Math.min(width - 1, x + radius);
      const sum = prefix[to + 1]! - prefix[from]!;
      horizontal[row + x] = useMax ? (sum > 0 ? 1 : 0) : sum === to - from + 1 ? 1 : 0;
    }
  }
  const out = new Uint8Array(mask.length);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) prefix[y + 1] = prefix[y]! + horizontal[y * width + x]!;
    for (let y = 0; y < height; y++) {
      const from = Math.max(0, y - radius);
      const to = Math.min(height - 1, y + radius);
      const sum = prefix[to + 1]! - prefix[from]!;
      out[y * width + x] = useMax ? (sum > 0 ? 1 : 0) : sum === to - from + 1 ? 1 : 0;
    }
  }
  return out;
}

function dilate(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  return squareFilter(mask, width, height, radius, true);
}

function erode(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  return squareFilter(mask, width, height, radius, false);
}

/** Components smaller than this share of the image are not an object. */
const MIN_OBJECT_SHARE = 0.002;

/**
 * The main object: among 8-connected components, the one with the largest
 * area weighted by closeness to the centre (a product photo centres its item;
 * a bigger blob in a corner is more likely a prop or a shadow). Null when none
 * is big enough.
 */
function mainComponent(mask: Uint8Array, width: number, height: number): Uint8Array | null {
  const labels = new Int32Array(mask.length);
  const stack = new Int32Array(mask.length);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const halfDiagonal = Math.hypot(cx, cy) || 1;
  let best = 0;
  let bestScore = 0;
  let label = 0;
  for (let start = 0; start < mask.length; start++) {
    if (mask[start] === 0 || labels[start] !== 0) continue;
    label++;
    let area = 0;
    let sumX = 0;
    let sumY = 0;
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    while (top > 0) {
      const i = stack[--top]!;
      const x = i % width;
      const y = (i - x) / width;
      area++;
      sumX += x;
      sumY += y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const n = ny * width + nx;
          if (mask[n] === 1 && labels[n] === 0) {
            labels[n] = label;
            stack[top++] = n;
          }
        }
      }
    }
    const offCentre = Math.hypot(sumX / area - cx, sumY / area - cy) / halfDiagonal;
    const score = area * (1 - 0.5 * offCentre);
    if (area >= MIN_OBJECT_SHARE * mask.length && score > bestScore) {
      bestScore = score;
      best = label;
    }
  }
  if (best === 0) return null;
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < out.length; i++) out[i] = labels[i] === best ? 1 : 0;
  return out;
}

/** Sets to 1 every 0-pixel not 4-connected to the border: printed text, a lens or a logo the colour of the backdrop. */
function fillHoles(mask: Uint8Array, width: number, height: number): void {
  const outside = new Uint8Array(mask.length);
  const stack = new Int32Array(mask.length);
  let top = 0;
  const seed = (i: number) => {
    if (mask[i] === 0 && outside[i] === 0) {
      outside[i] = 1;
      stack[top++] = i;
    }
  };
  for (let x = 0; x < width; x++) {
    seed(x);
    seed((height - 1) * width + x);
  }
  for (let y = 0; y < height; y++) {
    seed(y * width);
    seed(y * width + width - 1);
  }
  while (top > 0) {
    const i = stack[--top]!;
    const x = i % width;
    if (x > 0) seed(i - 1);
    if (x < width - 1) seed(i + 1);
    if (i >= width) seed(i - width);
    if (i + width < mask.length) seed(i + width);
  }
  for (let i = 0; i < mask.length; i++) if (outside[i] === 0) mask[i] = 1;
}

/**
 * 0/1 mask to 0..255 alpha with a soft edge. On the two-pixel ring along the
 * mask's outline a pixel is a mix of item and backdrop, and its distance to
 * the backdrop grows linearly with the item's share: alpha = distance /
 * (distance of the nearby solid item), like a one-step matting. This keeps
 * the edge where the colour is half-way (a hard threshold would put it a
 * pixel too far out) and antialiases it once upscaled.
 */
function softEdge(mask: Uint8Array, distance: Float32Array, threshold: number, width: number, height: number): Uint8Array {
  const alpha = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) alpha[i] = mask[i]! * 255;
  const floor = threshold / 2; // backdrop noise level: no alpha below it
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!onOutline(mask, i, x, y, width, height)) continue;
      const solid = maxDistanceInMask(mask, distance, x, y, width, height, 2);
      if (solid <= floor) continue;
      const share = (distance[i]! - floor) / (solid - floor);
      alpha[i] = Math.round(255 * Math.min(1, Math.max(0, share)));
    }
  }
  return alpha;
}

/** True when a 4-neighbour lies on the other side of the mask's edge. */
function onOutline(mask: Uint8Array, i: number, x: number, y: number, width: number, height: number): boolean {
  const m = mask[i];
  return (
    (x > 0 && mask[i - 1] !== m) ||
    (x < width - 1 && mask[i + 1] !== m) ||
    (y > 0 && mask[i - width] !== m) ||
    (y < height - 1 && mask[i + width] !== m)
  );
}

function maxDistanceInMask(
  mask: Uint8Array,
  distance: Float32Array,
  x: number,
  y: number,
  width: number,
  height: number,
  radius: number,
): number {
  let max = 0;
  for (let ny = Math.max(0, y - radius); ny <= Math.min(height - 1, y + radius); ny++) {
    for (let nx = Math.max(0, x - radius); nx <= Math.min(width - 1, x + radius); nx++) {
      const n = ny * width + nx;
      if (mask[n] === 1 && distance[n]! > max) max = distance[n]!;
    }
  }
  return max;
}
