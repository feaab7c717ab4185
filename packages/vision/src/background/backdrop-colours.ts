/**
 * Textured backdrops (stripes, fabric, a checkerboard): the border's residual
 * colours (pixel minus the smooth surface) spread widely, so the plain
 * distance threshold, which must clear that spread, clears most items too.
 * But a texture's colours lie on a few clusters and the blends between them,
 * a thin part of colour space; so this keeps the set of residual colours seen
 * along the border, and an item's pixel well away from every one of them is
 * foreground even when it is inside the plain threshold.
 *
 * The set is a grid over residual RGB whose cells hold the distance to the
 * nearest border colour (a 3-D distance transform), so a pixel costs one
 * lookup.
 */
import type { RgbaImage } from "../image.ts";
import { type BackgroundModel, modelRow } from "./border-model.ts";

/** Grid cell size in levels, and cells per axis: residuals -128..+127 per channel. */
const CELL = 8;
const SIDE = 32;
const HALF_RANGE = (SIDE * CELL) / 2;
/** Below this plain threshold the border is a noisy plain backdrop: one ball of colours, which the threshold already describes. */
const TEXTURED_THRESHOLD = 45;
/** Distance (levels) from every border colour beyond which a pixel is foreground: a cell and a half, plus JPEG's wobble. */
const TOLERANCE = 20;

/** Per grid cell, the distance (levels) from its centre to the nearest cell holding a border colour. */
export type BackdropColours = { distance: Float32Array; tolerance: number };

/** The border's colour set, or null for a plain (untextured) backdrop, where the threshold alone is right. */
export function backdropColours(model: BackgroundModel): BackdropColours | null {
  if (model.threshold < TEXTURED_THRESHOLD) return null;
  const residuals = model.borderResiduals;
  const occupied = new Float64Array(SIDE * SIDE * SIDE).fill(Number.POSITIVE_INFINITY);
  for (let i = 0; i < residuals.length; i += 3) occupied[cellOf(residuals[i]!, residuals[i + 1]!, residuals[i + 2]!)] = 0;
  const squared = distanceTransform3d(occupied);
  const distance = new Float32Array(squared.length);
  for (let c = 0; c < squared.length; c++) distance[c] = Math.sqrt(squared[c]!) * CELL;
  return { distance, tolerance: TOLERANCE };
}

/** Sets mask[i] = 1 where pixel i's residual colour is further than the tolerance from every border colour. */
export function markOffBackdrop(img: RgbaImage, model: BackgroundModel, colours: BackdropColours, mask: Uint8Array): void {
  const { width, height, data } = img;
  const backdrop = new Float32Array(width * 3);
  const { distance, tolerance } = colours;
  for (let py = 0; py < height; py++) {
    modelRow(model.coefficients, py, width, height, backdrop);
    for (let px = 0, i = py * width, p = i * 4, o = 0; px < width; px++, i++, p += 4, o += 3) {
      if (mask[i] === 1) continue;
      const cell = cellOf(data[p]! - backdrop[o]!, data[p + 1]! - backdrop[o + 1]!, data[p + 2]! - backdrop[o + 2]!);
      if (distance[cell]! > tolerance) mask[i] = 1;
    }
  }
}

function cellOf(r: number, g: number, b: number): number {
  return (axisCell(r) * SIDE + axisCell(g)) * SIDE + axisCell(b);
}

/** Residuals beyond the grid fall in its outermost cells: still far from a backdrop that never reaches there. */
function axisCell(v: number): number {
  const c = Math.floor((v + HALF_RANGE) / CELL);
  return c < 0 ? 0 : c >= SIDE ? SIDE - 1 : c;
}

/** Exact squared Euclidean distance transform (cells) of a SIDE³ grid: 0 at occupied cells, Infinity elsewhere on input. */
function distanceTransform3d(grid: Float64Array): Float64Array {
  const line = new Float64Array(SIDE);
  const out = new Float64Array(SIDE);
  const scratch = { v: new Int32Array(SIDE), z: new Float64Array(SIDE + 1) };
  const strides = [1, SIDE, SIDE * SIDE];
  for (const stride of strides) {
    // Every line of the grid along this axis: starts are the cells whose coordinate on the axis is 0.
    for (let start = 0; start < grid.length; start++) {
      if (Math.floor(start / stride) % SIDE !== 0) continue;
      for (let k = 0; k < SIDE; k++) line[k] = grid[start + k * stride]!;
      distanceTransform1d(line, out, scratch);
      for (let k = 0; k < SIDE; k++) grid[start + k * stride] = out[k]!;
    }
  }
  return grid;
}

/** Felzenszwalb and Huttenlocher's lower envelope of parabolas: out[q] = min over p of (q - p)² + f[p]. */
function distanceTransform1d(f: Float64Array, out: Float64Array, { v, z }: { v: Int32Array; z: Float64Array }): void {
  const n = f.length;
  let k = -1;
  for (let q = 0; q < n; q++) {
    if (f[q] === Number.POSITIVE_INFINITY) continue;
    let s = 0;
    while (k >= 0) {
      const p = v[k]!;
      s = (f[q]! + q * q - (f[p]! + p * p)) / (2 * (q - p));
      if (s > z[k]!) break;
      k--;
    }
    k++;
    v[k] = q;
    z[k] = k === 0 ? Number.NEGATIVE_INFINITY : s;
    z[k + 1] = Number.POSITIVE_INFINITY;
  }
  if (k < 0) {
    out.fill(Number.POSITIVE_INFINITY);
    return;
  }
  let j = 0;
  for (let q = 0; q < n; q++) {
    while (z[j + 1]! < q) j++;
    const p = v[j]!;
    out[q] = (q - p) * (q - p) + f[p]!;
  }
}
