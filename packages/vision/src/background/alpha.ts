/** The working copy's matte, scaled up into the photo's alpha channel. */
import type { RgbaImage } from "../image.ts";
import { normalisedCoordinate } from "./border-model.ts";
import { type Matte, mattedAlpha } from "./feather.ts";
import { distanceAt } from "./threshold.ts";

/** Where a photo pixel falls among the working pixels: the near (left/top) one, the next one and its weight. */
type Neighbours = { near: number; far: number; weight: number };
/** The same per photo column, computed once. */
type ColumnNeighbours = { near: Int32Array; far: Int32Array; weight: Float32Array };

/**
 * Multiplies `matte`, scaled up by `factor`, into `full`'s alpha, in place.
 * Bilinear with pixel centres aligned (working pixel i covers photo pixels
 * i*factor .. i*factor + factor - 1). On the outline, where that gives a
 * ramp `factor` times wider than the photo's own, alpha is matted again from
 * the photo's pixels (refineEdge), so the edge is as sharp as the photo.
 * Multiplied, so pixels already transparent in the original stay so. Colour
 * under fully transparent pixels is set to 0: nobody sees it, and a backdrop
 * of zeros makes the PNG several times cheaper to compress and smaller.
 */
export function applyMatte(full: RgbaImage, matte: Matte, factor: number): void {
  const columns = columnNeighbours(full.width, matte.width, factor);
  const columnCoordinates = Float64Array.from({ length: full.width }, (_, x) => normalisedCoordinate(x, full.width));
  const spans = objectSpans(matte);
  const row = new Uint8Array(full.width);
  for (let y = 0; y < full.height; y++) {
    const rows = neighbours(y, factor, matte.height);
    const rowStart = y * full.width * 4;
    // Outside the object's span the matte is 0: clear those pixels wholesale.
    const first = Math.min(spans.first[rows.near]!, spans.first[rows.far]!);
    const last = Math.max(spans.last[rows.near]!, spans.last[rows.far]!);
    const from = last < 0 ? full.width : Math.max(0, (first - 1) * factor);
    const to = last < 0 ? full.width : Math.min(full.width, (last + 2) * factor);
    full.data.fill(0, rowStart, rowStart + from * 4);
    full.data.fill(0, rowStart + to * 4, rowStart + full.width * 4);
    interpolateRow(matte, columns, rows, row, from, to);
    const edge = { matte, columns, rows, columnCoordinates, y: normalisedCoordinate(y, full.height) };
    refineEdge(full.data, rowStart, row, from, to, edge);
    multiplyAlpha(full.data, rowStart, row, from, to);
  }
}

/** Per matte row, the first and last column with alpha > 0 (first = width, last = -1 when none). */
function objectSpans(matte: Matte): { first: Int32Array; last: Int32Array } {
  const { alpha, width, height } = matte;
  const first = new Int32Array(height).fill(width);
  const last = new Int32Array(height).fill(-1);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let x = 0;
    while (x < width && alpha[row + x] === 0) x++;
    if (x === width) continue;
    first[y] = x;
    x = width - 1;
    while (alpha[row + x] === 0) x--;
    last[y] = x;
  }
  return { first, last };
}

function neighbours(index: number, factor: number, size: number): Neighbours {
  const position = Math.min(size - 1, Math.max(0, (index + 0.5) / factor - 0.5));
  const near = Math.floor(position);
  return { near, far: Math.min(size - 1, near + 1), weight: position - near };
}

function columnNeighbours(width: number, matteWidth: number, factor: number): ColumnNeighbours {
  const near = new Int32Array(width);
  const far = new Int32Array(width);
  const weight = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const column = neighbours(x, factor, matteWidth);
    near[x] = column.near;
    far[x] = column.far;
    weight[x] = column.weight;
  }
  return { near, far, weight };
}

/** Columns from .. to - 1 of one photo row of the scaled-up alpha, into `out`. */
function interpolateRow(matte: Matte, columns: ColumnNeighbours, rows: Neighbours, out: Uint8Array, from: number, to: number): void {
  const { alpha, width } = matte;
  const top = rows.near * width;
  const bottom = rows.far * width;
  const wy = rows.weight;
  for (let x = from; x < to; x++) {
    const left = columns.near[x]!;
    const right = columns.far[x]!;
    const a = alpha[top + left]!;
    const b = alpha[top + right]!;
    const c = alpha[bottom + left]!;
    const d = alpha[bottom + right]!;
    if (a === b && a === c && a === d) {
      out[x] = a; // inside or outside the object: most pixels
      continue;
    }
    const wx = columns.weight[x]!;
    const upper = a + (b - a) * wx;
    const lower = c + (d - c) * wx;
    out[x] = (upper + (lower - upper) * wy + 0.5) | 0; // rounded
  }
}

/**
 * Refine the edge only where the item stands out from the backdrop by at
 * least this many times the backdrop's noise (matte.floor); below, a single
 * pixel's alpha would be mostly noise (a ragged edge), and the interpolated
 * ramp of the working copy (whose pixels average 4 or more) is the better one.
 */
const MIN_EDGE_CONTRAST = 4;

type EdgeContext = { matte: Matte; columns: ColumnNeighbours; rows: Neighbours; columnCoordinates: Float64Array; y: number };

/**
 * Where the scaled-up alpha is partial, mattes the photo's own pixel with the
 * working copy's rule (feather.ts): its distance to the backdrop model (which
 * is in -1..1 coordinates, so it holds at any size) against the solid item
 * nearby, as found on the working copy.
 */
function refineEdge(data: Uint8Array, rowStart: number, alpha: Uint8Array, from: number, to: number, edge: EdgeContext): void {
  const { matte, columns, rows } = edge;
  const top = rows.near * matte.width;
  const bottom = rows.far * matte.width;
  for (let x = from, p = rowStart + from * 4; x < to; x++, p += 4) {
    if (alpha[x] === 0 || alpha[x] === 255) continue;
    const left = columns.near[x]!;
    const right = columns.far[x]!;
    const solid = Math.max(matte.solid[top + left]!, matte.solid[top + right]!, matte.solid[bottom + left]!, matte.solid[bottom + right]!);
    // Not next to a matted pixel, or too little contrast for one pixel's distance to beat its noise: keep the interpolation.
    if (solid - matte.floor < MIN_EDGE_CONTRAST * matte.floor) continue;
    const distance = distanceAt(matte.model.coefficients, data[p]!, data[p + 1]!, data[p + 2]!, edge.columnCoordinates[x]!, edge.y);
    alpha[x] = mattedAlpha(distance, matte.floor, solid);
  }
}

function multiplyAlpha(data: Uint8Array, rowStart: number, alpha: Uint8Array, from: number, to: number): void {
  for (let x = from, p = rowStart + from * 4 + 3; x < to; x++, p += 4) {
    const mask = alpha[x]!;
    if (mask === 255) continue; // the original's alpha stands
    const a = mask === 0 ? 0 : ((data[p]! * mask + 127) / 255) | 0;
    data[p] = a;
    if (a === 0) {
      data[p - 3] = 0;
      data[p - 2] = 0;
      data[p - 1] = 0;
    }
  }
}
