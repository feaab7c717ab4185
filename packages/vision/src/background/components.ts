/**
 * Connected components of a 0/1 mask: the main object, and its holes. Both
 * work on runs (maximal horizontal spans of one value) joined with
 * union-find: an object's outline makes a few runs per row, so this touches
 * each pixel once, to find the runs, instead of flood-filling pixel by pixel.
 */

/** Components smaller than this share of the image are not an object. */
const MIN_OBJECT_SHARE = 0.002;

/** Runs of one value, in row order: row `row[i]`, pixels start[i] .. end[i] - 1; runs of row y are rowStart[y] .. rowStart[y + 1] - 1. */
type Runs = { row: number[]; start: number[]; end: number[]; rowStart: Int32Array };

/**
 * The main object: among 8-connected components, the one with the largest
 * area weighted by closeness to the centre (a product photo centres its item;
 * a bigger blob in a corner is more likely a prop or a shadow). Null when none
 * is big enough.
 */
export function mainComponent(mask: Uint8Array, width: number, height: number): Uint8Array | null {
  const runs = runsOf(mask, width, height, 1);
  const sets = new DisjointSets(runs.row.length);
  joinTouchingRuns(runs, sets, height, true);
  const best = bestComponent(runs, sets, width, height);
  if (best === -1) return null;
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < runs.row.length; i++) {
    if (sets.find(i) === best) out.fill(1, runs.row[i]! * width + runs.start[i]!, runs.row[i]! * width + runs.end[i]!);
  }
  return out;
}

/** Sets to 1 every 0-pixel not 4-connected to the border: printed text, a lens or a logo the colour of the backdrop. */
export function fillHoles(mask: Uint8Array, width: number, height: number): void {
  const runs = runsOf(mask, width, height, 0);
  const count = runs.row.length;
  const sets = new DisjointSets(count);
  joinTouchingRuns(runs, sets, height, false);
  const outside = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const y = runs.row[i]!;
    if (y === 0 || y === height - 1 || runs.start[i] === 0 || runs.end[i] === width) outside[sets.find(i)] = 1;
  }
  for (let i = 0; i < count; i++) {
    if (outside[sets.find(i)] === 0) mask.fill(1, runs.row[i]! * width + runs.start[i]!, runs.row[i]! * width + runs.end[i]!);
  }
}

function runsOf(mask: Uint8Array, width: number, height: number, value: number): Runs {
  const runs: Runs = { row: [], start: [], end: [], rowStart: new Int32Array(height + 1) };
  for (let y = 0; y < height; y++) {
    runs.rowStart[y] = runs.row.length;
    const offset = y * width;
    for (let x = 0; x < width; x++) {
      if (mask[offset + x] !== value) continue;
      const start = x;
      while (x < width && mask[offset + x] === value) x++;
      runs.row.push(y);
      runs.start.push(start);
      runs.end.push(x);
    }
  }
  runs.rowStart[height] = runs.row.length;
  return runs;
}

/**
 * Unites runs of adjacent rows that touch: sharing a column (4-connected), or
 * also diagonally (8-connected). Both rows' runs are sorted, so one merge-like
 * sweep per pair of rows finds every touching pair.
 */
function joinTouchingRuns(runs: Runs, sets: DisjointSets, height: number, diagonal: boolean): void {
  const reach = diagonal ? 1 : 0;
  for (let y = 1; y < height; y++) {
    let above = runs.rowStart[y - 1]!;
    let below = runs.rowStart[y]!;
    const aboveEnd = runs.rowStart[y]!;
    const belowEnd = runs.rowStart[y + 1]!;
    while (above < aboveEnd && below < belowEnd) {
      if (runs.start[above]! < runs.end[below]! + reach && runs.start[below]! < runs.end[above]! + reach) sets.union(above, below);
      if (runs.end[above]! < runs.end[below]!) above++;
      else below++;
    }
  }
}

/** Root run of the best-scoring component big enough to be an object, or -1. Ties go to the component met first in row order. */
function bestComponent(runs: Runs, sets: DisjointSets, width: number, height: number): number {
  const count = runs.row.length;
  const area = new Float64Array(count);
  const sumX = new Float64Array(count);
  const sumY = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const root = sets.find(i);
    const length = runs.end[i]! - runs.start[i]!;
    area[root]! += length;
    sumX[root]! += ((runs.start[i]! + runs.end[i]! - 1) * length) / 2;
    sumY[root]! += runs.row[i]! * length;
  }
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const halfDiagonal = Math.hypot(cx, cy) || 1;
  const minArea = MIN_OBJECT_SHARE * width * height;
  let best = -1;
  let bestScore = 0;
  for (let i = 0; i < count; i++) {
    if (sets.find(i) !== i || area[i]! < minArea) continue; // each component once, at its root
    const offCentre = Math.hypot(sumX[i]! / area[i]! - cx, sumY[i]! / area[i]! - cy) / halfDiagonal;
    const score = area[i]! * (1 - 0.5 * offCentre);
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return best;
}

/** Union-find over 0 .. size - 1; the root of a set is always its smallest member, so roots come in row order. */
class DisjointSets {
  private readonly parent: Int32Array;

  constructor(size: number) {
    this.parent = new Int32Array(size);
    for (let i = 0; i < size; i++) this.parent[i] = i;
  }

  find(i: number): number {
    const parent = this.parent;
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!; // path halving
      i = parent[i]!;
    }
    return i;
  }

  union(a: number, b: number): void {
    const rootA = this.find(a);
    const rootB = this.find(b);
    if (rootA < rootB) this.parent[rootB] = rootA;
    else if (rootB < rootA) this.parent[rootA] = rootB;
  }
}
