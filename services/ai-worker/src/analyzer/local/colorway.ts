/**
 * Colorway: the item's dominant colours, named from a fixed palette.
 *
 * Confidence = coverage x fit, where coverage is the share of the item's
 * pixels that fall in the named colours, and fit is the pixel-weighted mean of
 * max(0, 1 - dE / FIT_RANGE) over those pixels, dE being the OKLab distance
 * of each pixel's colour to the nearest shade of its colour name. So a flat,
 * clean two-tone item scores near 1; a multicolour or off-palette one less.
 */
import { type Detection, NO_DETECTION } from "@pipeline/contracts/asset";
import type { RgbaImage } from "../../image.ts";

/** Colour names with a few representative sRGB shades each (nearest shade wins). */
const PALETTE: ReadonlyArray<readonly [name: string, shades: readonly number[]]> = [
  ["White", [0xffffff, 0xececec]],
  ["Black", [0x000000, 0x262626]],
  ["Grey", [0x5a5a5a, 0x808080, 0xa6a6a6, 0xc4c4c4]],
  ["Red", [0xff0000, 0xd71920, 0xb0171f, 0x8b0000, 0xe53935, 0xc0392b]],
  ["Orange", [0xff7f00, 0xff5f1f, 0xf28c28, 0xe67e22, 0xffa500]],
  ["Yellow", [0xffff00, 0xffd700, 0xffe135, 0xf5d000, 0xe5c100]],
  ["Green", [0x00a000, 0x228b22, 0x006400, 0x2e8b57, 0x6b8e23, 0x90ee90, 0x32cd32, 0x556b2f]],
  ["Blue", [0x0000ff, 0x1e90ff, 0x4169e1, 0x87ceeb, 0x0077c8, 0x5b9bd5, 0x1f4aa0]],
  ["Navy", [0x000080, 0x1b2a4a, 0x14213d, 0x191970]],
  ["Purple", [0x800080, 0x6a0dad, 0x8a2be2, 0x9370db, 0x4b0082]],
  ["Pink", [0xffc0cb, 0xff69b4, 0xff1493, 0xf4a6c0, 0xe75480]],
  ["Brown", [0x8b4513, 0xa0522d, 0x5c4033, 0x6f4e37, 0x7b3f00, 0x4e342e, 0x3b2314]],
  ["Beige", [0xf5f5dc, 0xd2b48c, 0xe1c699, 0xc8ad7f, 0xf3e5ab, 0xe8d8c0, 0xc19a6b]],
];

/** A colour must cover at least this share of the item to be named. */
const MIN_SHARE = 0.08;
const MAX_COLOURS = 3;
/** OKLab (x100) distance at which a pixel no longer fits its colour name at all (~10 just-noticeable differences). */
const FIT_RANGE = 25;
/** Fewer opaque pixels than this: no item to describe. */
const MIN_PIXELS = 64;
/** Pixels with alpha above this belong to the item. */
const OPAQUE = 128;
/** Histogram resolution: 5 bits per channel. */
const BITS = 5;

type Shade = { nameIndex: number; l: number; a: number; b: number };
const SHADES: Shade[] = PALETTE.flatMap(([, shades], nameIndex) =>
  shades.map((hex) => {
    const [l, a, b] = srgbToOklab((hex >> 16) & 255, (hex >> 8) & 255, hex & 255);
    return { nameIndex, l, a, b };
  }),
);

export type ColourShare = { name: string; share: number; fit: number };

/** The item's colours (opaque pixels of the cutout), largest area first, each with its share of the item and its mean fit 0..1. */
export function colourShares(img: RgbaImage): { shares: ColourShare[]; pixels: number } {
  const histogram = opaqueHistogram(img);
  const counts = new Float64Array(PALETTE.length);
  const fitSums = new Float64Array(PALETTE.length);
  for (let bin = 0; bin < histogram.counts.length; bin++) {
    const n = histogram.counts[bin]!;
    if (n === 0) continue;
    const [l, a, b] = srgbToOklab(histogram.sums[bin * 3]! / n, histogram.sums[bin * 3 + 1]! / n, histogram.sums[bin * 3 + 2]! / n);
    const { nameIndex, distance } = nearestShade(l, a, b);
    counts[nameIndex]! += n;
    fitSums[nameIndex]! += n * Math.max(0, 1 - distance / FIT_RANGE);
  }
  const shares: ColourShare[] = [];
  for (let i = 0; i < PALETTE.length; i++) {
    const n = counts[i]!;
    if (n > 0) shares.push({ name: PALETTE[i]![0], share: n / histogram.pixels, fit: fitSums[i]! / n });
  }
  shares.sort((x, y) => y.share - x.share);
  return { shares, pixels: histogram.pixels };
}

/** Names up to 3 colours covering >= 8% each, e.g. "Red/White/Black"; null when the cutout has no item. */
export function detectColorway(cutout: RgbaImage): Detection {
  const { shares, pixels } = colourShares(cutout);
  if (pixels < MIN_PIXELS) return NO_DETECTION;
  const named = shares.filter((s) => s.share >= MIN_SHARE).slice(0, MAX_COLOURS);
  if (named.length === 0) return NO_DETECTION;
  const coverage = named.reduce((sum, s) => sum + s.share, 0);
  const fit = named.reduce((sum, s) => sum + s.share * s.fit, 0) / coverage;
  return { value: named.map((s) => s.name).join("/"), confidence: coverage * fit };
}

/** Colour histogram (5 bits per channel) of the opaque pixels; bins keep their colour sums so each bin's mean colour is exact. */
function opaqueHistogram(img: RgbaImage): { counts: Uint32Array; sums: Float64Array; pixels: number } {
  const size = 1 << (3 * BITS);
  const counts = new Uint32Array(size);
  const sums = new Float64Array(size * 3);
  const data = img.data;
  const shift = 8 - BITS;
  // Large images: every k-th pixel is plenty for colour shares.
  const total = img.width * img.height;
  const step = Math.max(1, Math.floor(total / 400_000));
  let pixels = 0;
  for (let i = 0; i < total; i += step) {
    const p = i * 4;
    if (data[p + 3]! <= OPAQUE) continue;
    const r = data[p]!;
    const g = data[p + 1]!;
    const b = data[p + 2]!;
    const bin = ((r >> shift) << (2 * BITS)) | ((g >> shift) << BITS) | (b >> shift);
    counts[bin]!++;
    sums[bin * 3]! += r;
    sums[bin * 3 + 1]! += g;
    sums[bin * 3 + 2]! += b;
    pixels++;
  }
  return { counts, sums, pixels };
}

function nearestShade(l: number, a: number, b: number): { nameIndex: number; distance: number } {
  let best = SHADES[0]!;
  let bestSquared = Infinity;
  for (const shade of SHADES) {
    const dl = l - shade.l;
    const da = a - shade.a;
    const db = b - shade.b;
    const squared = dl * dl + da * da + db * db;
    if (squared < bestSquared) {
      bestSquared = squared;
      best = shade;
    }
  }
  return { nameIndex: best.nameIndex, distance: Math.sqrt(bestSquared) };
}

/**
 * sRGB (0..255) to OKLab, scaled x100 (L 0..100). A perceptual space, so the
 * nearest shade is what a person would call the colour; unlike CIELAB it does
 * not pull saturated blues towards purple.
 */
export function srgbToOklab(r: number, g: number, b: number): [number, number, number] {
  const lr = srgbToLinear(r);
  const lg = srgbToLinear(g);
  const lb = srgbToLinear(b);
  const l = Math.cbrt(0.4122214708 * lr + 0.5363325363 * lg + 0.0514459929 * lb);
  const m = Math.cbrt(0.2119034982 * lr + 0.6806995451 * lg + 0.1073969566 * lb);
  const s = Math.cbrt(0.0883024619 * lr + 0.2817188376 * lg + 0.6299787005 * lb);
  return [
    100 * (0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s),
    100 * (1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s),
    100 * (0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s),
  ];
}

function srgbToLinear(v: number): number {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}
