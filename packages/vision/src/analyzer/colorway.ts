/**
 * Colorway: the item's colours, named from the palette (palette.ts), largest
 * area first: "White/Black", "Grey/Silver"; an item of one colour is that
 * name alone ("White" for what collectors call "Triple White").
 *
 * The item's opaque pixels are binned (5 bits per channel), each bin's mean
 * colour converted to OKLab and named. Bins of one name form a colour; then
 * colours that are one colour in different light are merged, the smaller into
 * the larger:
 * - shading: two chromatic colours of the same hue whose chroma falls in step
 *   with their lightness (what less light does in OKLab), so a red shoe's
 *   shaded half (named Red or Brown) stays Red and a blue's shadow side
 *   (Navy) stays Blue;
 * - a neutral next to another on the grey scale (Black/Charcoal,
 *   Grey/Silver...) when the pixels between them are continuous (a gradient
 *   of light, not two flat colours) or when it covers under 20 % of the item
 *   (a dark grey lens ring on a black camera body is detail, not a colour);
 *   the merged neutral is named by its mean lightness.
 * Colours covering at least 8 % are reported, at most 3.
 *
 * Confidence = coverage x fit x separation x the cut-out's own confidence:
 * coverage is the share of the item in the reported colours; fit, how
 * robust each pixel's name is (the share of small nudges of its colour, in
 * lightness, chroma and hue, that keep its name); separation falls when two
 * reported colours are close in OKLab. A doubtful cut-out (background removal
 * unsure) makes doubtful colours.
 */
import { type Detection, NO_DETECTION } from "@pipeline/contracts/asset";
import type { RgbaImage } from "../image.ts";
import { chroma, hueDegrees, srgbToOklab } from "./oklab.ts";
import { COLOUR_NAMES, colourName, neutralRank } from "./palette.ts";

/** A colour must cover at least this share of the item to be named. */
const MIN_SHARE = 0.08;
const MAX_COLOURS = 3;
/** A neutral adjacent on the grey scale to a larger one needs this share to be a colour of its own. */
const NEAR_NEUTRAL_SHARE = 0.2;
/** Shading: hues within this many degrees, chroma-to-lightness ratios within this fraction, lightness within this factor. */
const SHADING_HUE = 15;
const SHADING_RATIO = 0.25;
const SHADING_LIGHTNESS = 2;
/** Two neutrals are one gradient when the emptiest lightness between them holds this share of the smaller one's peak. */
const VALLEY_SHARE = 0.1;
/** OKLab (x100) distance between two reported colours from which they are clearly distinct. */
const SEPARATION = 15;
/** The nudges of a colour that its name should survive: lightness, chroma (OKLab x100) and hue (degrees). */
const NUDGE_LIGHTNESS = 3;
const NUDGE_CHROMA = 1.5;
const NUDGE_HUE = 8;
/** Fewer opaque pixels than this: no item to describe. */
const MIN_PIXELS = 64;
/** Pixels with alpha above this belong to the item. */
const OPAQUE = 128;
/** Histogram resolution: 5 bits per channel. */
const BITS = 5;

/** One histogram bin: its pixel count, mean colour in OKLab, its name and the names of its nudged colours. */
type Bin = { count: number; lightness: number; a: number; b: number; name: number; nudged: number[] };

/** A colour being assembled: the name it is reported under and its pixels' OKLab sums. */
type Colour = { name: number; count: number; sumL: number; sumA: number; sumB: number; names: Set<number> };

/** Names up to 3 colours covering >= 8 % each, e.g. "Red/White/Black"; null when the cutout has no item. */
export function detectColorway(cutout: RgbaImage, cutoutConfidence = 1): Detection {
  const { bins, pixels } = opaqueBins(cutout);
  if (pixels < MIN_PIXELS) return NO_DETECTION;
  const colours = mergeShading(coloursOf(bins), lightnessHistogram(bins), pixels);
  const named = colours.filter((c) => c.count / pixels >= MIN_SHARE).slice(0, MAX_COLOURS);
  if (named.length === 0) return NO_DETECTION;
  const covered = named.reduce((sum, c) => sum + c.count, 0);
  const fit = named.reduce((sum, c) => sum + c.count * fitOf(bins, c), 0) / covered;
  const confidence = (covered / pixels) * fit * separation(named) * cutoutConfidence;
  return { value: named.map((c) => COLOUR_NAMES[c.name]).join("/"), confidence };
}

/** Colour histogram (5 bits per channel) of the opaque pixels, as named OKLab bins (mean colour of each bin, so exact). */
function opaqueBins(img: RgbaImage): { bins: Bin[]; pixels: number } {
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
  const bins: Bin[] = [];
  for (let bin = 0; bin < size; bin++) {
    const count = counts[bin]!;
    if (count === 0) continue;
    const [lightness, a, b] = srgbToOklab(sums[bin * 3]! / count, sums[bin * 3 + 1]! / count, sums[bin * 3 + 2]! / count);
    bins.push({ count, lightness, a, b, name: nameIndex(lightness, a, b), nudged: nudgedNames(lightness, a, b) });
  }
  return { bins, pixels };
}

function nameIndex(lightness: number, a: number, b: number): number {
  return COLOUR_NAMES.indexOf(colourName(lightness, a, b));
}

/** The names of the colour nudged up and down in lightness, chroma and hue. */
function nudgedNames(lightness: number, a: number, b: number): number[] {
  const c = chroma(a, b);
  const hue = (hueDegrees(a, b) * Math.PI) / 180;
  const at = (dl: number, dc: number, dh: number) => {
    const cc = Math.max(0, c + dc);
    return nameIndex(lightness + dl, cc * Math.cos(hue + dh), cc * Math.sin(hue + dh));
  };
  const dh = (NUDGE_HUE * Math.PI) / 180;
  return [at(NUDGE_LIGHTNESS, 0, 0), at(-NUDGE_LIGHTNESS, 0, 0), at(0, NUDGE_CHROMA, 0), at(0, -NUDGE_CHROMA, 0), at(0, 0, dh), at(0, 0, -dh)];
}

function coloursOf(bins: Bin[]): Colour[] {
  const byName = new Map<number, Colour>();
  for (const bin of bins) {
    let colour = byName.get(bin.name);
    if (colour === undefined) {
      colour = { name: bin.name, count: 0, sumL: 0, sumA: 0, sumB: 0, names: new Set([bin.name]) };
      byName.set(bin.name, colour);
    }
    colour.count += bin.count;
    colour.sumL += bin.count * bin.lightness;
    colour.sumA += bin.count * bin.a;
    colour.sumB += bin.count * bin.b;
  }
  return [...byName.values()];
}

/** Pixel counts of neutral bins by whole OKLab lightness (0..100), smoothed over 3 units: where the grey scale is continuous. */
function lightnessHistogram(bins: Bin[]): Float64Array {
  const raw = new Float64Array(101);
  for (const bin of bins) if (neutralRank(COLOUR_NAMES[bin.name]!) >= 0) raw[Math.max(0, Math.min(100, Math.round(bin.lightness)))]! += bin.count;
  const smooth = new Float64Array(101);
  for (let l = 0; l <= 100; l++) smooth[l] = (raw[Math.max(0, l - 1)]! + raw[l]! + raw[Math.min(100, l + 1)]!) / 3;
  return smooth;
}

/** Merges each colour that is another's shading into it, smallest first, until none is; returns the colours largest first. */
function mergeShading(colours: Colour[], histogram: Float64Array, pixels: number): Colour[] {
  let merged = true;
  while (merged) {
    merged = false;
    colours.sort((x, y) => y.count - x.count);
    for (let small = colours.length - 1; small > 0 && !merged; small--) {
      for (let large = 0; large < small; large++) {
        if (!isShadingOf(colours[small]!, colours[large]!, histogram, pixels)) continue;
        absorb(colours[large]!, colours[small]!);
        renameNeutral(colours[large]!);
        colours.splice(small, 1);
        merged = true;
        break;
      }
    }
  }
  return colours;
}

function isShadingOf(small: Colour, large: Colour, histogram: Float64Array, pixels: number): boolean {
  const smallRank = neutralRank(COLOUR_NAMES[small.name]!);
  const largeRank = neutralRank(COLOUR_NAMES[large.name]!);
  if (smallRank >= 0 && largeRank >= 0) {
    if (Math.abs(smallRank - largeRank) !== 1) return false;
    return small.count / pixels < NEAR_NEUTRAL_SHARE || continuous(histogram, mean(small, "L"), mean(large, "L"));
  }
  if (smallRank >= 0 || largeRank >= 0) return false;
  const [l1, c1, h1] = lch(small);
  const [l2, c2, h2] = lch(large);
  const hueGap = Math.min(Math.abs(h1 - h2), 360 - Math.abs(h1 - h2));
  const ratio1 = c1 / l1;
  const ratio2 = c2 / l2;
  const lightnessFactor = Math.max(l1, l2) / Math.min(l1, l2);
  return hueGap <= SHADING_HUE && Math.abs(ratio1 - ratio2) <= SHADING_RATIO * Math.max(ratio1, ratio2) && lightnessFactor <= SHADING_LIGHTNESS;
}

/** Whether the neutral pixels' lightness histogram has no gap between lightness x and y. */
function continuous(histogram: Float64Array, x: number, y: number): boolean {
  const from = Math.round(Math.min(x, y));
  const to = Math.round(Math.max(x, y));
  const peak = (l: number) => Math.max(...histogram.subarray(Math.max(0, l - 3), Math.min(101, l + 4)));
  let valley = Number.POSITIVE_INFINITY;
  for (let l = from; l <= to; l++) valley = Math.min(valley, histogram[l]!);
  return valley >= VALLEY_SHARE * Math.min(peak(from), peak(to));
}

function absorb(into: Colour, from: Colour): void {
  into.count += from.count;
  into.sumL += from.sumL;
  into.sumA += from.sumA;
  into.sumB += from.sumB;
  for (const name of from.names) into.names.add(name);
}

/**
 * A merged neutral is named by its mean lightness (one of the names merged):
 * a white shoe shaded into light grey over half of it is still White, a
 * black body with a dark grey ring still Black.
 */
function renameNeutral(colour: Colour): void {
  if (neutralRank(COLOUR_NAMES[colour.name]!) < 0) return;
  const name = nameIndex(mean(colour, "L"), mean(colour, "a"), mean(colour, "b"));
  if (colour.names.has(name)) colour.name = name;
}

function mean(colour: Colour, channel: "L" | "a" | "b"): number {
  const sum = channel === "L" ? colour.sumL : channel === "a" ? colour.sumA : colour.sumB;
  return sum / colour.count;
}

function lch(colour: Colour): [lightness: number, chroma: number, hue: number] {
  const a = mean(colour, "a");
  const b = mean(colour, "b");
  return [Math.max(1e-6, mean(colour, "L")), chroma(a, b), hueDegrees(a, b)];
}

/** Pixel-weighted share of the colour's bins' nudges that keep a name the colour holds. */
function fitOf(bins: Bin[], colour: Colour): number {
  let kept = 0;
  let total = 0;
  for (const bin of bins) {
    if (!colour.names.has(bin.name)) continue;
    for (const name of bin.nudged) if (colour.names.has(name)) kept += bin.count;
    total += bin.count * bin.nudged.length;
  }
  return total === 0 ? 0 : kept / total;
}

/** 1 when every two reported colours are at least SEPARATION apart in OKLab, less as the closest pair gets closer. */
function separation(colours: Colour[]): number {
  let closest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < colours.length; i++) {
    for (let j = i + 1; j < colours.length; j++) {
      const x = colours[i]!;
      const y = colours[j]!;
      const d = Math.hypot(mean(x, "L") - mean(y, "L"), mean(x, "a") - mean(y, "a"), mean(x, "b") - mean(y, "b"));
      closest = Math.min(closest, d);
    }
  }
  return Math.min(1, closest / SEPARATION);
}
