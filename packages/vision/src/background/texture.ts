/**
 * A local texture statistic for busy backdrops. An item whose colour is also
 * one of the texture's (a white box on white and grey stripes, a grey body on
 * tweed) cannot be told apart by colour; but it is smooth where the backdrop
 * is not. The statistic is the colour variance over a square window, at the
 * smallest scale at which the border is busy everywhere (a window narrower
 * than a checkerboard's squares finds flat patches in the backdrop itself).
 */
import type { RgbaImage } from "../image.ts";

/** Window radii tried, smallest first. */
const RADII = [2, 4, 8] as const;
/** The border's 5th-percentile variance (summed over R, G, B) must reach this for the backdrop to count as busy: ~10 levels per channel. */
const MIN_BUSY_VARIANCE = 300;
/** A window is smooth below this share of the border's 5th-percentile variance. */
const SMOOTH_SHARE = 0.15;
/** Around a smooth window, pixels within this colour distance of its mean are item too (the window stops r pixels short of the edge). */
const MIN_EDGE_TOLERANCE = 24;

/** Window sums over R, G, B and R² + G² + B², as summed-area tables ((width + 1) x (height + 1)). */
type SummedAreas = { r: Float64Array; g: Float64Array; b: Float64Array; squares: Float64Array; width: number; height: number };

/**
 * Sets mask[i] = 1 on smooth parts of the image when the backdrop (the
 * border's pixels with mask 0) is busy at some window size, and extends them
 * to the item's edge by colour.
 */
export function markSmoothOnBusyBackdrop(img: RgbaImage, mask: Uint8Array): void {
  const areas = summedAreas(img);
  const { width, height } = img;
  for (const radius of RADII) {
    const busy = borderVarianceFloor(areas, mask, radius);
    if (busy < MIN_BUSY_VARIANCE) continue;
    const smooth = new Uint8Array(width * height);
    const means = new Float32Array(width * height * 3);
    const limit = SMOOTH_SHARE * busy;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        if (windowStats(areas, x, y, radius, means, i * 3) < limit) smooth[i] = 1;
      }
    }
    growToEdge(img, smooth, means, radius, Math.max(MIN_EDGE_TOLERANCE, 3 * Math.sqrt(limit)), mask);
    return;
  }
}

function summedAreas(img: RgbaImage): SummedAreas {
  const { width, height, data } = img;
  const stride = width + 1;
  const size = stride * (height + 1);
  const r = new Float64Array(size);
  const g = new Float64Array(size);
  const b = new Float64Array(size);
  const squares = new Float64Array(size);
  for (let y = 0; y < height; y++) {
    let rowR = 0;
    let rowG = 0;
    let rowB = 0;
    let rowSquares = 0;
    for (let x = 0, p = y * width * 4; x < width; x++, p += 4) {
      const pr = data[p]!;
      const pg = data[p + 1]!;
      const pb = data[p + 2]!;
      rowR += pr;
      rowG += pg;
      rowB += pb;
      rowSquares += pr * pr + pg * pg + pb * pb;
      const at = (y + 1) * stride + x + 1;
      r[at] = r[at - stride]! + rowR;
      g[at] = g[at - stride]! + rowG;
      b[at] = b[at - stride]! + rowB;
      squares[at] = squares[at - stride]! + rowSquares;
    }
  }
  return { r, g, b, squares, width, height };
}

/** Variance (summed over channels) of the window of `radius` about (x, y), clipped at the edges; its mean colour goes to means[at..at+2]. */
function windowStats(areas: SummedAreas, x: number, y: number, radius: number, means: Float32Array | null, at: number): number {
  const stride = areas.width + 1;
  const x0 = Math.max(0, x - radius);
  const x1 = Math.min(areas.width, x + radius + 1);
  const y0 = Math.max(0, y - radius);
  const y1 = Math.min(areas.height, y + radius + 1);
  const n = (x1 - x0) * (y1 - y0);
  const a = y0 * stride + x0;
  const b = y0 * stride + x1;
  const c = y1 * stride + x0;
  const d = y1 * stride + x1;
  const sr = areas.r[d]! - areas.r[b]! - areas.r[c]! + areas.r[a]!;
  const sg = areas.g[d]! - areas.g[b]! - areas.g[c]! + areas.g[a]!;
  const sb = areas.b[d]! - areas.b[b]! - areas.b[c]! + areas.b[a]!;
  const ss = areas.squares[d]! - areas.squares[b]! - areas.squares[c]! + areas.squares[a]!;
  if (means !== null) {
    means[at] = sr / n;
    means[at + 1] = sg / n;
    means[at + 2] = sb / n;
  }
  return (ss - (sr * sr + sg * sg + sb * sb) / n) / n;
}

/** 5th percentile of the window variance over the border band's backdrop pixels (mask 0): how smooth the backdrop ever gets. */
function borderVarianceFloor(areas: SummedAreas, mask: Uint8Array, radius: number): number {
  const { width, height } = areas;
  const band = Math.max(radius + 1, Math.round(Math.min(width, height) * 0.03));
  const values: number[] = [];
  const step = Math.max(1, Math.floor((2 * band * (width + height)) / 4096));
  let seen = 0;
  for (let y = 0; y < height; y++) {
    const inRowBand = y < band || y >= height - band;
    for (let x = 0; x < width; x++) {
      if (!inRowBand && x >= band && x < width - band) {
        x = width - band - 1;
        continue;
      }
      if (seen++ % step !== 0 || mask[y * width + x] === 1) continue;
      values.push(windowStats(areas, x, y, radius, null, 0));
    }
  }
  if (values.length === 0) return 0;
  values.sort((p, q) => p - q);
  return values[Math.floor(0.05 * values.length)]!;
}

/**
 * Smooth windows stop `radius` pixels short of the item's edge: from each
 * smooth pixel, spread outward up to `radius` steps to pixels whose colour is
 * within `tolerance` of the smooth window's mean, marking all of them in mask.
 */
function growToEdge(img: RgbaImage, smooth: Uint8Array, means: Float32Array, radius: number, tolerance: number, mask: Uint8Array): void {
  const { width, height, data } = img;
  const seed = new Int32Array(width * height).fill(-1);
  let frontier: number[] = [];
  for (let i = 0; i < smooth.length; i++) {
    if (smooth[i] === 0) continue;
    mask[i] = 1;
    seed[i] = i;
    frontier.push(i);
  }
  const toleranceSquared = tolerance * tolerance;
  for (let step = 1; step <= radius && frontier.length > 0; step++) {
    const next: number[] = [];
    for (const i of frontier) {
      const x = i % width;
      const y = (i - x) / width;
      const s = seed[i]! * 3;
      for (const n of [x > 0 ? i - 1 : -1, x < width - 1 ? i + 1 : -1, y > 0 ? i - width : -1, y < height - 1 ? i + width : -1]) {
        if (n < 0 || seed[n] !== -1) continue;
        const dr = data[n * 4]! - means[s]!;
        const dg = data[n * 4 + 1]! - means[s + 1]!;
        const db = data[n * 4 + 2]! - means[s + 2]!;
        if (dr * dr + dg * dg + db * db > toleranceSquared) continue;
        seed[n] = seed[i]!;
        mask[n] = 1;
        next.push(n);
      }
    }
    frontier = next;
  }
}
