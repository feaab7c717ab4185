/**
 * Finds lines of text before anything is read, so OCR runs only on them.
 *
 * 1. Ink: a pixel is ink when it stands out from its neighbourhood (a
 *    window's mean over the item's opaque pixels) by more than that window's
 *    standard deviation, darker or lighter. Both polarities are kept, so
 *    black print on red and white print on a black body are found alike, and
 *    the threshold follows the local contrast (a low-contrast white-on-grey
 *    label as well as a high-contrast one). Transparent pixels (the cutout's
 *    backdrop) are neither ink nor part of any window's statistics.
 * 2. Letters: connected components of one polarity whose size and fill look
 *    like glyphs (or a few glyphs run together by blur).
 * 3. Lines: letters of the same polarity and similar height, side by side
 *    (the centres within half a letter of each other, the gap under a letter
 *    height) are chained; a chain is a line. Its angle is the one that makes
 *    its ink's projection sharpest (a deskew per line, ±20°).
 *
 * Works on a copy at most DETECT_SIDE px on a side (as large as the
 * analyzer's images, so small print in a large photo is not shrunk away);
 * geometry is returned in the input image's pixels.
 */
import type { RgbaImage } from "../image.ts";

export type TextLine = {
  /** Centre of the line's ink, in the input image's pixels. */
  cx: number;
  cy: number;
  /** Direction of the baseline, radians (y down: positive turns clockwise). */
  angle: number;
  /** Ink extent along the line and across it, px. */
  length: number;
  thickness: number;
  /** Median letter height, px: what the reader scales to its preferred size. */
  letterHeight: number;
  letters: number;
};

/** Detection runs on a copy this size at most (~20 ms at 1024 px, ~70 ms at 2400 px on one core). */
const DETECT_SIDE = 2400;
/**
 * Neighbourhood for the ink test, at 1024 px: wide against letters up to
 * ~60 px, so a stroke is a minority of its window. Larger photos get a
 * proportionally larger window (their print is larger too), as do the limits
 * on a letter's height.
 */
const WINDOW_RADIUS = 20;
const REFERENCE_SIDE = 1024;
/** Below this difference from the neighbourhood, nothing is ink (JPEG and sensor noise). */
const MIN_INK_CONTRAST = 14;
const OPAQUE = 128;
/** Letter candidates, in detection pixels (the largest at 1024 px). */
const MIN_LETTER_HEIGHT = 7;
const MAX_LETTER_HEIGHT = 110;
const MIN_LETTER_PIXELS = 10;
/** At most this many lines are returned, the most inked first: OCR time is bounded per image. */
export const MAX_LINES = 8;
/** Deskew search: labels turned up to ~18° are read; one sharpest at the edge of the search is not a line of text. */
const MAX_SKEW = (20 * Math.PI) / 180;

type Component = { minX: number; maxX: number; minY: number; maxY: number; pixels: number; dark: boolean; label: number };

export function findTextLines(img: RgbaImage): TextLine[] {
  const factor = Math.max(1, Math.ceil(Math.max(img.width, img.height) / DETECT_SIDE));
  const work = shrunkLuma(img, factor);
  const size = Math.max(1, Math.max(work.width, work.height) / REFERENCE_SIDE);
  const labels = new Int32Array(work.width * work.height);
  const ink = inkMask(work, Math.round(WINDOW_RADIUS * size));
  const components = label(ink, work.width, work.height, labels);
  const letters = components.filter((c) => isLetterLike(c, MAX_LETTER_HEIGHT * size));
  const lines = chainLetters(letters).map((group) => lineGeometry(group, labels, work.width));
  return joinCollinear(dropOverlaps(lines.filter((l) => l !== null)))
    .slice(0, MAX_LINES)
    .map((l) => scaleLine(l, factor));
}

type Work = { width: number; height: number; luma: Uint8Array; opaque: Uint8Array };

/** BT.601 luma and opacity, box-averaged by `factor`. */
function shrunkLuma(img: RgbaImage, factor: number): Work {
  const width = Math.floor(img.width / factor);
  const height = Math.floor(img.height / factor);
  const luma = new Uint8Array(width * height);
  const opaque = new Uint8Array(width * height);
  const data = img.data;
  const area = factor * factor;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      let solid = 0;
      for (let dy = 0; dy < factor; dy++) {
        let p = ((y * factor + dy) * img.width + x * factor) * 4;
        for (let dx = 0; dx < factor; dx++, p += 4) {
          sum += (77 * data[p]! + 150 * data[p + 1]! + 29 * data[p + 2]!) >> 8;
          if (data[p + 3]! > OPAQUE) solid++;
        }
      }
      luma[y * width + x] = sum / area;
      opaque[y * width + x] = 2 * solid > area ? 1 : 0;
    }
  }
  return { width, height, luma, opaque };
}

/** 0 not ink, 1 dark ink, 2 light ink (see the module comment). */
function inkMask({ width, height, luma, opaque }: Work, radius: number): Uint8Array {
  // Integral images over opaque pixels only: count, sum, sum of squares.
  const w1 = width + 1;
  const count = new Float64Array(w1 * (height + 1));
  const sum = new Float64Array(w1 * (height + 1));
  const squares = new Float64Array(w1 * (height + 1));
  for (let y = 0; y < height; y++) {
    let rowCount = 0;
    let rowSum = 0;
    let rowSquares = 0;
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (opaque[i] === 1) {
        const l = luma[i]!;
        rowCount++;
        rowSum += l;
        rowSquares += l * l;
      }
      const o = (y + 1) * w1 + x + 1;
      count[o] = count[o - w1]! + rowCount;
      sum[o] = sum[o - w1]! + rowSum;
      squares[o] = squares[o - w1]! + rowSquares;
    }
  }
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const y0 = Math.max(0, y - radius) * w1;
    const y1 = Math.min(height, y + radius + 1) * w1;
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (opaque[i] === 0) continue;
      const x0 = Math.max(0, x - radius);
      const x1 = Math.min(width, x + radius + 1);
      const n = count[y1 + x1]! - count[y0 + x1]! - count[y1 + x0]! + count[y0 + x0]!;
      const s = sum[y1 + x1]! - sum[y0 + x1]! - sum[y1 + x0]! + sum[y0 + x0]!;
      const q = squares[y1 + x1]! - squares[y0 + x1]! - squares[y1 + x0]! + squares[y0 + x0]!;
      const mean = s / n;
      const deviation = Math.sqrt(Math.max(0, q / n - mean * mean));
      const difference = luma[i]! - mean;
      const threshold = Math.max(MIN_INK_CONTRAST, deviation);
      if (difference < -threshold) mask[i] = 1;
      else if (difference > threshold) mask[i] = 2;
    }
  }
  return mask;
}

/** 8-connected components of equal non-zero mask values; `labels` receives each pixel's component index + 1. */
function label(mask: Uint8Array, width: number, height: number, labels: Int32Array): Component[] {
  const components: Component[] = [];
  const stack = new Int32Array(mask.length);
  for (let start = 0; start < mask.length; start++) {
    const value = mask[start]!;
    if (value === 0 || labels[start] !== 0) continue;
    const id = components.length + 1;
    const c: Component = { minX: width, maxX: -1, minY: height, maxY: -1, pixels: 0, dark: value === 1, label: id };
    let top = 0;
    stack[top++] = start;
    labels[start] = id;
    while (top > 0) {
      const p = stack[--top]!;
      const x = p % width;
      const y = (p - x) / width;
      c.pixels++;
      if (x < c.minX) c.minX = x;
      if (x > c.maxX) c.maxX = x;
      if (y < c.minY) c.minY = y;
      if (y > c.maxY) c.maxY = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (labels[q] === 0 && mask[q] === value) {
            labels[q] = id;
            stack[top++] = q;
          }
        }
      }
    }
    components.push(c);
  }
  return components;
}

const heightOf = (c: Component) => c.maxY - c.minY + 1;
const widthOf = (c: Component) => c.maxX - c.minX + 1;

/** Glyph-sized, and neither a thin stroke's worth of pixels nor a solid block. */
function isLetterLike(c: Component, maxHeight: number): boolean {
  const h = heightOf(c);
  const w = widthOf(c);
  if (h < MIN_LETTER_HEIGHT || h > maxHeight || c.pixels < MIN_LETTER_PIXELS) return false;
  if (w > 12 * h) return false; // an edge, not a run of glyphs
  const fill = c.pixels / (w * h);
  // A thin upright stroke ("I", "l", "1") fills its box; anything wider that does is a block.
  return fill >= 0.08 && (fill <= 0.95 || w <= 0.35 * h);
}

/** Letters chained into lines (union-find over neighbour pairs). */
function chainLetters(letters: Component[]): Component[][] {
  const sorted = [...letters].sort((a, b) => a.minX - b.minX);
  const parent = sorted.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i]!;
    const ha = heightOf(a);
    for (let j = i + 1; j < sorted.length; j++) {
      const b = sorted[j]!;
      if (b.minX > a.maxX + 2.2 * ha) break; // too far right for any b of a plausible height
      if (a.dark !== b.dark) continue;
      const hb = heightOf(b);
      const tall = Math.max(ha, hb);
      if (tall > 2.2 * Math.min(ha, hb)) continue;
      if (b.minX - a.maxX > 1.1 * tall) continue;
      if (Math.abs(a.minY + a.maxY - b.minY - b.maxY) / 2 > 0.5 * tall) continue;
      parent[find(j)] = find(i);
    }
  }
  const groups = new Map<number, Component[]>();
  for (let i = 0; i < sorted.length; i++) groups.set(find(i), [...(groups.get(find(i)) ?? []), sorted[i]!]);
  return [...groups.values()].filter((g) => {
    if (g.length >= 2) return true;
    // One component: a word whose letters blur into each other.
    const c = g[0]!;
    return widthOf(c) >= 2.5 * heightOf(c) && c.pixels / (widthOf(c) * heightOf(c)) <= 0.8;
  });
}

/** Angle, centre and extents of a line, from its letters' pixels. */
function lineGeometry(group: Component[], labels: Int32Array, width: number): (TextLine & { ink: number }) | null {
  const ids = new Set(group.map((c) => c.label));
  const xs: number[] = [];
  const ys: number[] = [];
  for (const c of group) {
    for (let y = c.minY; y <= c.maxY; y++) {
      for (let x = c.minX; x <= c.maxX; x++) {
        if (ids.has(labels[y * width + x]!)) {
          xs.push(x);
          ys.push(y);
        }
      }
    }
  }
  const heights = group.map(heightOf).sort((a, b) => a - b);
  const letterHeight = heights[heights.length >> 1]!;
  const angle = sharpestAngle(xs, ys);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  let [u0, u1, v0, v1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < xs.length; i++) {
    const u = xs[i]! * cos + ys[i]! * sin;
    const v = -xs[i]! * sin + ys[i]! * cos;
    if (u < u0) u0 = u;
    if (u > u1) u1 = u;
    if (v < v0) v0 = v;
    if (v > v1) v1 = v;
  }
  const length = u1 - u0 + 1;
  const thickness = v1 - v0 + 1;
  // Too short for a word; thicker than a line of letters; or sharpest at the search's edge (strokes, not text).
  if (length < letterHeight || thickness > 2 * letterHeight || Math.abs(angle) > MAX_SKEW - (1.5 * Math.PI) / 180) return null;
  const [uc, vc] = [(u0 + u1) / 2, (v0 + v1) / 2];
  return {
    cx: uc * cos - vc * sin,
    cy: uc * sin + vc * cos,
    angle,
    length,
    thickness,
    letterHeight,
    letters: group.length,
    ink: xs.length,
  };
}

/**
 * The rotation at which the ink's projection across the line is sharpest
 * (largest sum of squared bin counts): a straight line of text piles its ink
 * into a band; turned, it smears. Coarse 1° steps, then 0.25° around the best.
 */
function sharpestAngle(xs: number[], ys: number[]): number {
  const step = Math.max(1, Math.floor(xs.length / 4000)); // a sample is enough on large text
  const score = (angle: number) => {
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const bins = new Map<number, number>();
    for (let i = 0; i < xs.length; i += step) {
      const v = Math.round(-xs[i]! * sin + ys[i]! * cos);
      bins.set(v, (bins.get(v) ?? 0) + 1);
    }
    let total = 0;
    for (const n of bins.values()) total += n * n;
    return total;
  };
  const search = (from: number, to: number, by: number, best: { angle: number; score: number }) => {
    for (let a = from; a <= to + 1e-9; a += by) {
      const s = score(a);
      // Ties go to the smaller turn: an unrotated reading is the safer guess.
      if (s > best.score || (s === best.score && Math.abs(a) < Math.abs(best.angle))) {
        best.angle = a;
        best.score = s;
      }
    }
    return best;
  };
  const degree = Math.PI / 180;
  const coarse = search(-MAX_SKEW, MAX_SKEW, degree, { angle: 0, score: score(0) });
  return search(coarse.angle - degree, coarse.angle + degree, degree / 4, { ...coarse }).angle;
}

/**
 * Where two lines cover the same place (a label's letters, and the gaps
 * between them read as the opposite polarity), the one with more ink stays:
 * a line is dropped when its centre lies inside a kept line's box.
 */
function dropOverlaps(lines: (TextLine & { ink: number })[]): (TextLine & { ink: number })[] {
  const kept: (TextLine & { ink: number })[] = [];
  for (const line of [...lines].sort((a, b) => b.ink - a.ink)) {
    if (!kept.some((k) => contains(k, line.cx, line.cy))) kept.push(line);
  }
  return kept;
}

/**
 * Pieces of one line (split where a gap or a descender broke the chain) are
 * joined when they lie on one axis, at the same angle and letter size, with
 * a gap of at most two letters: the reader then sees the whole line, and in
 * order. Kept most-inked first.
 */
function joinCollinear(lines: (TextLine & { ink: number })[]): (TextLine & { ink: number })[] {
  const out = [...lines];
  for (let merged = true; merged; ) {
    merged = false;
    for (let i = 0; i < out.length && !merged; i++) {
      for (let j = i + 1; j < out.length && !merged; j++) {
        const joined = joinPair(out[i]!, out[j]!);
        if (joined === null) continue;
        out[i] = joined;
        out.splice(j, 1);
        merged = true;
      }
    }
  }
  return out.sort((a, b) => b.ink - a.ink);
}

function joinPair(a: TextLine & { ink: number }, b: TextLine & { ink: number }): (TextLine & { ink: number }) | null {
  const degree = Math.PI / 180;
  const [long, short] = a.length >= b.length ? [a, b] : [b, a];
  // A short piece's own angle is loose (a word with descenders tilts its projection): the long one sets the axis.
  const tolerance = short.length < 5 * short.letterHeight ? 10 * degree : 3 * degree;
  if (Math.abs(a.angle - b.angle) > tolerance) return null;
  if (Math.max(a.letterHeight, b.letterHeight) > 1.6 * Math.min(a.letterHeight, b.letterHeight)) return null;
  const angle = long.angle;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const frame = (l: TextLine) => ({ u: l.cx * cos + l.cy * sin, v: -l.cx * sin + l.cy * cos });
  const [p, q] = [frame(a), frame(b)];
  const letter = Math.max(a.letterHeight, b.letterHeight);
  if (Math.abs(p.v - q.v) > 0.35 * letter) return null;
  const gap = Math.abs(p.u - q.u) - (a.length + b.length) / 2;
  if (gap > 2 * letter) return null;
  const u0 = Math.min(p.u - a.length / 2, q.u - b.length / 2);
  const u1 = Math.max(p.u + a.length / 2, q.u + b.length / 2);
  const v0 = Math.min(p.v - a.thickness / 2, q.v - b.thickness / 2);
  const v1 = Math.max(p.v + a.thickness / 2, q.v + b.thickness / 2);
  const [uc, vc] = [(u0 + u1) / 2, (v0 + v1) / 2];
  return {
    cx: uc * cos - vc * sin,
    cy: uc * sin + vc * cos,
    angle,
    length: u1 - u0,
    thickness: v1 - v0,
    letterHeight: (a.letterHeight * a.letters + b.letterHeight * b.letters) / (a.letters + b.letters),
    letters: a.letters + b.letters,
    ink: a.ink + b.ink,
  };
}

function contains(line: TextLine, x: number, y: number): boolean {
  const cos = Math.cos(line.angle);
  const sin = Math.sin(line.angle);
  const u = (x - line.cx) * cos + (y - line.cy) * sin;
  const v = -(x - line.cx) * sin + (y - line.cy) * cos;
  return Math.abs(u) <= line.length / 2 && Math.abs(v) <= line.thickness / 2;
}

/** From detection pixels to input pixels (pixel centres at integer coordinates in both). */
function scaleLine({ cx, cy, angle, length, thickness, letterHeight, letters }: TextLine, factor: number): TextLine {
  const offset = (factor - 1) / 2;
  return {
    cx: cx * factor + offset,
    cy: cy * factor + offset,
    angle,
    length: length * factor,
    thickness: thickness * factor,
    letterHeight: letterHeight * factor,
    letters,
  };
}
