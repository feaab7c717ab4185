/**
 * Background model: per channel, a quadric surface c(x, y) fitted robustly to
 * a band along the image border.
 */
import type { RgbaImage } from "../image.ts";

/** Basis terms of the surface: 1, x, y, x², y², xy (x, y in -1..1). A plain backdrop, a linear gradient and a mild vignette all fit. */
const TERMS = 6;
/** Residual distances below this never count as outliers (flat synthetic borders have ~0 spread). */
const MIN_INLIER_CUTOFF = 10;
/** Lowest colour distance (RGB, 0..441) that separates object from backdrop. */
const MIN_THRESHOLD = 20;
/** Plenty for six coefficients and a 95th percentile; more only costs time. */
const MAX_BORDER_SAMPLES = 2048;

export type BackgroundModel = {
  /** [channel][term] coefficients of the quadric per R, G, B channel. */
  coefficients: Float64Array[];
  /** Colour distance above which a pixel is foreground. */
  threshold: number;
  /** The border's inlier residuals (pixel - surface), 3 values (R, G, B) each: the backdrop's own colour variation, texture included. */
  borderResiduals: Float32Array;
};

/** Per sample: its basis terms (TERMS values, computed once), its colour (3 values) and its sector of the border. */
type BorderSamples = { basis: Float64Array; rgb: Float64Array; sector: Uint8Array; count: number };

/**
 * Fits the backdrop from a band along the image border, robustly: start from
 * the per-channel median (indifferent to an object covering < half the
 * border), then alternate "fit the quadric to the inliers" and "inliers =
 * samples within 3 robust sigmas". The threshold comes from the residual
 * spread of the inliers, so a noisy or textured backdrop raises it.
 *
 * A striped or patterned backdrop has no single colour for the median to
 * find: its "outliers" are half the border, all the way round, where an item
 * touching the edge makes a run in one place. Then every sample but the
 * farthest few is backdrop, and its spread is the texture's.
 */
export function fitBackgroundModel(img: RgbaImage): BackgroundModel {
  const samples = sampleBorder(img);
  const residual = new Float64Array(samples.count);
  let coefficients = robustFit(samples, constantModel(samples), residual, false);
  let cutoff = inlierCutoff(residual, false);
  if (outliersAllRound(samples, residual, cutoff)) {
    coefficients = robustFit(samples, coefficients, residual, true);
    cutoff = inlierCutoff(residual, true);
  }
  const inlierResiduals = residual.filter((d) => d <= cutoff);
  const p95 = quantile(inlierResiduals, 0.95);
  return { coefficients, threshold: Math.max(MIN_THRESHOLD, 2 * p95), borderResiduals: residualVectors(samples, coefficients, residual, cutoff) };
}

/** Sectors (by angle about the centre) the border is divided into to tell a pattern's outliers (everywhere) from an item's (in one place). */
const SECTORS = 24;
/** Outliers in at least this share of the sectors: the backdrop itself varies beyond one colour. */
const PATTERNED_SECTOR_SHARE = 0.6;
/** Textured: all samples but this top share of residuals are backdrop (dust, a corner of the item). */
const TEXTURED_OUTLIER_SHARE = 0.02;

/** Iteratively reweighted fit; leaves the final residual distances in `residual`. */
function robustFit(samples: BorderSamples, start: Float64Array[], residual: Float64Array, textured: boolean): Float64Array[] {
  const inlier = new Uint8Array(samples.count);
  let coefficients = start;
  for (let iteration = 0; iteration < 4; iteration++) {
    residualDistances(samples, coefficients, residual);
    const cutoff = inlierCutoff(residual, textured);
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
  return coefficients;
}

function inlierCutoff(residual: Float64Array, textured: boolean): number {
  if (textured) return Math.max(MIN_INLIER_CUTOFF, quantile(residual, 1 - TEXTURED_OUTLIER_SHARE));
  return Math.max(MIN_INLIER_CUTOFF, 3 * 1.4826 * median(residual));
}

/** Whether samples beyond `cutoff` turn up in most sectors of the border (a pattern) rather than a few (an item touching the edge). */
function outliersAllRound(samples: BorderSamples, residual: Float64Array, cutoff: number): boolean {
  const total = new Uint32Array(SECTORS);
  const outliers = new Uint32Array(SECTORS);
  for (let i = 0; i < samples.count; i++) {
    total[samples.sector[i]!]!++;
    if (residual[i]! > cutoff) outliers[samples.sector[i]!]!++;
  }
  let sectorsWithOutliers = 0;
  let sectors = 0;
  for (let s = 0; s < SECTORS; s++) {
    if (total[s] === 0) continue;
    sectors++;
    if (outliers[s]! >= 0.1 * total[s]!) sectorsWithOutliers++;
  }
  return sectorsWithOutliers >= PATTERNED_SECTOR_SHARE * sectors;
}

/** The residual colour vectors of the samples whose residual distance is within `cutoff`. */
function residualVectors(samples: BorderSamples, coefficients: Float64Array[], distance: Float64Array, cutoff: number): Float32Array {
  let count = 0;
  for (let i = 0; i < samples.count; i++) if (distance[i]! <= cutoff) count++;
  const out = new Float32Array(count * 3);
  for (let i = 0, o = 0; i < samples.count; i++) {
    if (distance[i]! > cutoff) continue;
    for (let ch = 0; ch < 3; ch++, o++) out[o] = samples.rgb[i * 3 + ch]! - predict(coefficients[ch]!, samples.basis, i * TERMS);
  }
  return out;
}

/**
 * The backdrop surface along image row `py` (of a width x height image), R, G, B per pixel, into
 * `out` (3 x width). Per row the quadric is a parabola in x: c0 + c1 x + c3 x², the row's parts folded in.
 */
export function modelRow(coefficients: Float64Array[], py: number, width: number, height: number, out: Float32Array): void {
  const y = normalisedCoordinate(py, height);
  const [kr, kg, kb] = coefficients as [Float64Array, Float64Array, Float64Array];
  const constantR = kr[0]! + kr[2]! * y + kr[4]! * y * y;
  const constantG = kg[0]! + kg[2]! * y + kg[4]! * y * y;
  const constantB = kb[0]! + kb[2]! * y + kb[4]! * y * y;
  const linearR = kr[1]! + kr[5]! * y;
  const linearG = kg[1]! + kg[5]! * y;
  const linearB = kb[1]! + kb[5]! * y;
  const step = width > 1 ? 2 / (width - 1) : 0;
  for (let px = 0, o = 0, x = width > 1 ? -1 : 0; px < width; px++, o += 3, x += step) {
    out[o] = constantR + (linearR + kr[3]! * x) * x;
    out[o + 1] = constantG + (linearG + kg[3]! * x) * x;
    out[o + 2] = constantB + (linearB + kb[3]! * x) * x;
  }
}

function sampleBorder(img: RgbaImage): BorderSamples {
  const { width, height, data } = img;
  const band = Math.max(2, Math.round(Math.min(width, height) * 0.03));
  const bandPixels = 2 * band * width + 2 * band * Math.max(0, height - 2 * band);
  const step = Math.max(1, Math.ceil(bandPixels / MAX_BORDER_SAMPLES));
  const capacity = Math.ceil(bandPixels / step) + 1;
  const basisTerms = new Float64Array(capacity * TERMS);
  const rgb = new Float64Array(capacity * 3);
  const sector = new Uint8Array(capacity);
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
      const x = normalisedCoordinate(px, width);
      const y = normalisedCoordinate(py, height);
      basis(x, y, basisTerms, count * TERMS);
      sector[count] = Math.min(SECTORS - 1, Math.floor(((Math.atan2(y, x) + Math.PI) / (2 * Math.PI)) * SECTORS));
      rgb[count * 3] = data[p]!;
      rgb[count * 3 + 1] = data[p + 1]!;
      rgb[count * 3 + 2] = data[p + 2]!;
      count++;
    }
  }
  return { basis: basisTerms, rgb, sector, count };
}

/** Pixel index to -1..1, so the quadric's terms are of comparable size. */
export function normalisedCoordinate(index: number, size: number): number {
  return size > 1 ? (2 * index) / (size - 1) - 1 : 0;
}

function basis(x: number, y: number, out: Float64Array, at: number): void {
  out[at] = 1;
  out[at + 1] = x;
  out[at + 2] = y;
  out[at + 3] = x * x;
  out[at + 4] = y * y;
  out[at + 5] = x * y;
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
  const atb = [new Float64Array(TERMS), new Float64Array(TERMS), new Float64Array(TERMS)] as const;
  const { basis: phi, rgb } = samples;
  for (let i = 0; i < samples.count; i++) {
    if (inlier[i] === 0) continue;
    const at = i * TERMS;
    for (let r = 0; r < TERMS; r++) {
      const pr = phi[at + r]!;
      // ata is symmetric: accumulate the upper triangle, mirror it below.
      for (let c = r; c < TERMS; c++) ata[r * TERMS + c]! += pr * phi[at + c]!;
      atb[0][r]! += pr * rgb[i * 3]!;
      atb[1][r]! += pr * rgb[i * 3 + 1]!;
      atb[2][r]! += pr * rgb[i * 3 + 2]!;
    }
  }
  for (let r = 1; r < TERMS; r++) for (let c = 0; c < r; c++) ata[r * TERMS + c] = ata[c * TERMS + r]!;
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
  const { basis: phi, rgb } = samples;
  for (let i = 0; i < samples.count; i++) {
    const at = i * TERMS;
    let sum = 0;
    for (let ch = 0; ch < 3; ch++) {
      const d = rgb[i * 3 + ch]! - predict(coefficients[ch]!, phi, at);
      sum += d * d;
    }
    out[i] = Math.sqrt(sum);
  }
}

/** One channel's surface at a sample, from its basis terms at phi[at..]. */
function predict(k: Float64Array, phi: Float64Array, at: number): number {
  let predicted = 0;
  for (let t = 0; t < TERMS; t++) predicted += k[t]! * phi[at + t]!;
  return predicted;
}

function median(values: Float64Array): number {
  return quantile(values, 0.5);
}

/** The element at rank floor(q * n) in sorted order, by selection on a copy (linear time; a sort costs more). */
function quantile(values: Float64Array, q: number): number {
  if (values.length === 0) return 0;
  return selectRank(Float64Array.from(values), Math.min(values.length - 1, Math.floor(q * values.length)));
}

/** Hoare's quickselect: reorders `a` so that a[rank] is what it would be sorted, and returns it. */
function selectRank(a: Float64Array, rank: number): number {
  let low = 0;
  let high = a.length - 1;
  while (low < high) {
    const pivot = a[(low + high) >> 1]!;
    let i = low;
    let j = high;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (rank <= j) high = j;
    else if (rank >= i) low = i;
    else break; // between j and i every value equals the pivot
  }
  return a[rank]!;
}
