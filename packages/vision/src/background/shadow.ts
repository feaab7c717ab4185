/**
 * Shadows on the backdrop are backdrop. A shadow is the backdrop's own colour
 * with less light: in OKLab its L, a and b all shrink by the same factor
 * (oklab.ts), so its chroma falls in step with L and its hue stays. A pixel
 * darker than the backdrop model but of that chroma is shadow-like.
 *
 * On a tinted backdrop a grey item is not: its chroma is nearer grey than
 * the shadow's tint would be. On a neutral backdrop it is, and what tells
 * them apart is the edge: a shadow fades in over many pixels (its penumbra),
 * an item's outline is a step. So two labels spread through the shadow-like
 * pixels, each pixel taking the one it reaches by the path whose largest
 * colour step is smallest (the weakest-link cut, as in a watershed):
 * - backdrop, from the backdrop next to them, never across a step larger
 *   than a penumbra makes;
 * - item, from shadow-like pixels that the backdrop meets across such a step
 *   (the item's outline).
 * A grey item's flat inside is reached from its outline at no cost, before
 * the backdrop gets there through the item's own contact shadow; a coloured
 * item's shadow meets no outline and goes to the backdrop whole.
 */
import { linearToOklab, SRGB_TO_LINEAR } from "../analyzer/oklab.ts";
import type { RgbaImage } from "../image.ts";
import { type BackgroundModel, modelRow } from "./border-model.ts";

/** A shadow keeps at least this share of the backdrop's OKLab lightness (~10 % of its light); darker is an item. */
const MIN_LIGHTNESS_RATIO = 0.45;
/** OKLab (x100) chroma mismatch a shadow may show beyond the border's own chroma noise: JPEG's chroma rounding. */
const CHROMA_TOLERANCE = 3;
/** How much nearer grey than the shadow's chroma a pixel must be to count as a neutral item rather than shadow (OKLab x100). */
const NEUTRAL_MARGIN = 0.25;
/** Colour step (RGB distance between neighbours of the working copy) a penumbra may take; the border's noise is added. */
const SOFT_STEP = 24;
/** An outline seeds the item only where the pixel stands this many thresholds from the backdrop (a noisy shadow's edge does not). */
const OUTLINE_CONTRAST = 1.5;

/** How labels may spread: the largest step the backdrop may take, the distance an outline seed must stand at, and whether steps are trusted. */
type Limits = { maxStep: number; outline: number; stepsTell: boolean };

/** Labels; 0 is a pixel no label reached (left as item). */
const BACKDROP = 1;
const ITEM = 2;

/**
 * Clears, in `mask` (1 = foreground candidate), the shadows cast on the
 * backdrop; `distance` is each pixel's distance to the backdrop model.
 * Returns how many pixels were cleared.
 */
export function clearShadows(img: RgbaImage, model: BackgroundModel, mask: Uint8Array, distance: Float32Array): number {
  const shadowLike = shadowLikePixels(img, model, mask, CHROMA_TOLERANCE + borderChromaNoise(model));
  const noise = noiseStep(model);
  const label = spreadLabels(img, mask, shadowLike, distance, {
    maxStep: SOFT_STEP + noise,
    outline: OUTLINE_CONTRAST * model.threshold,
    // Where noise alone makes steps as large as a penumbra's, a step says nothing: the distance decides.
    stepsTell: noise < SOFT_STEP,
  });
  let cleared = 0;
  for (let i = 0; i < label.length; i++) {
    if (label[i] !== BACKDROP) continue;
    mask[i] = 0;
    cleared++;
  }
  return cleared;
}

/**
 * Labels the shadow-like pixels BACKDROP or ITEM (0 when unreachable, and
 * so left as item) by minimax path cost, with a bucket queue over the
 * integer step sizes.
 */
function spreadLabels(img: RgbaImage, mask: Uint8Array, shadowLike: Uint8Array, distance: Float32Array, limits: Limits): Uint8Array {
  const { width, height, data } = img;
  const label = new Uint8Array(width * height);
  const cost = new Uint16Array(width * height).fill(0xffff);
  // Bucket 2c holds item offers of cost c, 2c + 1 backdrop ones: on a tie the item wins, so an item's part that is
  // as faint as the backdrop (reached by both at no cost) is not handed to the backdrop.
  const buckets: number[][] = Array.from({ length: 2 * (MAX_STEP + 1) }, () => []);
  const offer = (i: number, c: number, l: number) => {
    if (c > cost[i]! || (c === cost[i]! && (l === BACKDROP || label[i] === ITEM))) return;
    cost[i] = c;
    label[i] = l;
    buckets[2 * c + (l === BACKDROP ? 1 : 0)]!.push(i);
  };
  const neighbours = new Int32Array(4);
  const outline = outlineSeeds(img, mask, shadowLike, distance, limits);
  for (let i = 0; i < shadowLike.length; i++) {
    if (shadowLike[i] === 0) continue;
    if (outline[i] === 1) {
      offer(i, 0, ITEM);
      continue;
    }
    const count = neighboursOf(i, width, height, neighbours);
    for (let k = 0; k < count; k++) {
      const n = neighbours[k]!;
      if (mask[n] !== 0) continue;
      const step = stepBetween(data, i, n);
      if (step <= limits.maxStep) offer(i, step, BACKDROP);
    }
  }
  for (let b = 0; b < buckets.length; b++) {
    const bucket = buckets[b]!;
    const c = b >> 1;
    const l = b & 1 ? BACKDROP : ITEM;
    // The bucket may grow while it is read: offers of the same cost and label land in it.
    for (let k = 0; k < bucket.length; k++) {
      const i = bucket[k]!;
      if (cost[i] !== c || label[i] !== l) continue; // superseded by a better offer
      const count = neighboursOf(i, width, height, neighbours);
      for (let j = 0; j < count; j++) {
        const n = neighbours[j]!;
        if (shadowLike[n] === 0) continue;
        const step = stepBetween(data, i, n);
        if (l === BACKDROP && step > limits.maxStep) continue;
        offer(n, Math.max(c, step), l);
      }
    }
  }
  return label;
}

/**
 * Shadow-like pixels on an item's outline: standing well clear of the
 * backdrop, a step larger than a penumbra's from real backdrop (two backdrop
 * pixels in a row), which is either next to them or one pixel further across
 * a blend from a flat inside (the outline's antialiasing; the blend between a
 * white sole and its dark shadow even passes through the backdrop's colour).
 * Only seeds with at least two seed neighbours (of 8) are kept: an outline is
 * a line, a noise spike is alone.
 */
function outlineSeeds(img: RgbaImage, mask: Uint8Array, shadowLike: Uint8Array, distance: Float32Array, limits: Limits): Uint8Array {
  const { width, height, data } = img;
  const candidate = new Uint8Array(width * height);
  const directions = [-1, 1, -width, width];
  for (let i = 0; i < shadowLike.length; i++) {
    if (shadowLike[i] === 0 || distance[i]! < limits.outline) continue;
    for (const d of directions) {
      const edge = backdropAlong(mask, i, d, width, height);
      if (edge < 0) continue;
      // Across a blend, i must be on a plateau (the item's flat colour), not partway down a ramp (a hard shadow's edge).
      const inside = offset(i, -d, 1, width, height);
      if (edge !== offset(i, d, 1, width, height) && (inside < 0 || stepBetween(data, i, inside) > limits.maxStep / 2)) continue;
      if (!limits.stepsTell || stepBetween(data, i, edge) > limits.maxStep) {
        candidate[i] = 1;
        break;
      }
    }
  }
  const seeds = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0, i = y * width; x < width; x++, i++) {
      if (candidate[i] === 0) continue;
      let around = 0;
      for (let dy = -1; dy <= 1; dy++) {
        if (y + dy < 0 || y + dy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          if ((dx !== 0 || dy !== 0) && x + dx >= 0 && x + dx < width) around += candidate[i + dy * width + dx]!;
        }
      }
      if (around >= 2) seeds[i] = 1;
    }
  }
  return seeds;
}

/**
 * Going from pixel i in direction d (+-1 or +-width): the first backdrop
 * pixel, if it is the next pixel or the one after (across a blend) and the
 * backdrop goes on beyond it (or the image ends there); else -1.
 */
function backdropAlong(mask: Uint8Array, i: number, d: number, width: number, height: number): number {
  for (let k = 1; k <= 2; k++) {
    const at = offset(i, d, k, width, height);
    if (at < 0) return -1;
    if (mask[at] !== 0) continue;
    const beyond = offset(i, d, k + 1, width, height);
    return beyond < 0 || mask[beyond] === 0 ? at : -1;
  }
  return -1;
}

/** Pixel i moved k steps of d (+-1 along its row, +-width along its column), or -1 outside the image. */
function offset(i: number, d: number, k: number, width: number, height: number): number {
  if (d === 1 || d === -1) {
    const x = (i % width) + d * k;
    return x >= 0 && x < width ? i + d * k : -1;
  }
  const at = i + d * k;
  return at >= 0 && at < width * height ? at : -1;
}

/** Largest RGB step between two pixels (rounded): sqrt(3) x 255. */
const MAX_STEP = 442;

function stepBetween(data: Uint8Array, a: number, b: number): number {
  const dr = data[a * 4]! - data[b * 4]!;
  const dg = data[a * 4 + 1]! - data[b * 4 + 1]!;
  const db = data[a * 4 + 2]! - data[b * 4 + 2]!;
  return Math.round(Math.sqrt(dr * dr + dg * dg + db * db));
}

/** 1 where a candidate pixel is darker than the backdrop there, by at most MIN_LIGHTNESS_RATIO, with the chroma a shadow of it would have. */
function shadowLikePixels(img: RgbaImage, model: BackgroundModel, mask: Uint8Array, chromaTolerance: number): Uint8Array {
  const { width, height, data } = img;
  const out = new Uint8Array(width * height);
  const backdrop = new Float32Array(width * 3);
  const pixel = new Float64Array(3);
  const ground = new Float64Array(3);
  let groundKey = -1;
  for (let y = 0; y < height; y++) {
    let rowModelled = false;
    for (let x = 0, i = y * width, p = i * 4; x < width; x++, i++, p += 4) {
      if (mask[i] === 0) continue;
      if (!rowModelled) {
        modelRow(model.coefficients, y, width, height, backdrop);
        rowModelled = true;
      }
      const o = x * 3;
      const r = SRGB_TO_LINEAR[data[p]!]!;
      const g = SRGB_TO_LINEAR[data[p + 1]!]!;
      const b = SRGB_TO_LINEAR[data[p + 2]!]!;
      const br = linear(backdrop[o]!);
      const bg = linear(backdrop[o + 1]!);
      const bb = linear(backdrop[o + 2]!);
      // Cheap rejections in linear light first (most item pixels): per channel, a shadow passes the same share of light.
      const kr = r / br;
      const kg = g / bg;
      const kb = b / bb;
      const kMax = Math.max(kr, kg, kb);
      const kMin = Math.min(kr, kg, kb);
      if (kMax >= 1 || kMin < MIN_LIGHT_SHARE || kMax > MAX_CHANNEL_SPREAD * kMin) continue;
      linearToOklab(r, g, b, pixel);
      // The backdrop changes slowly: convert it again only when its (rounded) colour does.
      const key = (Math.round(backdrop[o]!) << 16) | (Math.round(backdrop[o + 1]!) << 8) | Math.round(backdrop[o + 2]!);
      if (key !== groundKey) {
        linearToOklab(br, bg, bb, ground);
        groundKey = key;
      }
      const ratio = pixel[0]! / ground[0]!;
      if (!(ratio >= MIN_LIGHTNESS_RATIO && ratio < 1)) continue;
      const da = pixel[1]! - ratio * ground[1]!;
      const db = pixel[2]! - ratio * ground[2]!;
      const mismatch = Math.hypot(da, db);
      // On a tinted backdrop a neutral item is nearer grey than the shadow's tint: of the two hypotheses the nearer
      // wins (even a faint tint, #eeeae4's, tells a grey item from its shadow). On a neutral backdrop they coincide,
      // and the outline decides.
      if (mismatch <= chromaTolerance && mismatch <= Math.hypot(pixel[1]!, pixel[2]!) + NEUTRAL_MARGIN) out[i] = 1;
    }
  }
  return out;
}

/** MIN_LIGHTNESS_RATIO in linear light (OKLab's L is about the cube root), with room for a tinted channel. */
const MIN_LIGHT_SHARE = 0.5 * MIN_LIGHTNESS_RATIO ** 3;
/** Channels passing shares of light further apart than this are far from any shadow's chroma: no need for OKLab. */
const MAX_CHANNEL_SPREAD = 2;

/** The model's (fractional, possibly out-of-range) sRGB value to linear light, through the table. */
function linear(v: number): number {
  return SRGB_TO_LINEAR[v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v)]!;
}

/** 90th percentile of the border's OKLab chroma deviation from its mean colour: how far noise alone moves a backdrop pixel's chroma. */
function borderChromaNoise(model: BackgroundModel): number {
  const residuals = model.borderResiduals;
  const stride = noiseSampleStride(residuals);
  const count = Math.floor(residuals.length / 3 / stride);
  if (count === 0) return 0;
  const [r, g, b] = model.coefficients.map((k) => k[0]!) as [number, number, number];
  const mean = new Float64Array(3);
  linearToOklab(linear(r), linear(g), linear(b), mean);
  const lab = new Float64Array(3);
  const deviations = new Float64Array(count);
  for (let i = 0, at = 0; i < count; i++, at += 3 * stride) {
    linearToOklab(linear(r + residuals[at]!), linear(g + residuals[at + 1]!), linear(b + residuals[at + 2]!), lab);
    deviations[i] = Math.hypot(lab[1]! - mean[1]!, lab[2]! - mean[2]!);
  }
  deviations.sort();
  return deviations[Math.floor(0.9 * (count - 1))]!;
}

/** A 90th percentile needs no more than a few hundred samples: every stride-th residual. */
function noiseSampleStride(residuals: Float32Array): number {
  return Math.max(1, Math.floor(residuals.length / 3 / 512));
}

/** The step between neighbouring backdrop pixels that noise alone makes: about 1.4x (two pixels' noise) the border's 90th-percentile residual. */
function noiseStep(model: BackgroundModel): number {
  const residuals = model.borderResiduals;
  const stride = noiseSampleStride(residuals);
  const count = Math.floor(residuals.length / 3 / stride);
  if (count === 0) return 0;
  const lengths = new Float64Array(count);
  for (let i = 0, at = 0; i < count; i++, at += 3 * stride) lengths[i] = Math.hypot(residuals[at]!, residuals[at + 1]!, residuals[at + 2]!);
  lengths.sort();
  return Math.SQRT2 * lengths[Math.floor(0.9 * (count - 1))]!;
}

/** The 4-neighbours of pixel i inside the image, into out; returns how many. */
function neighboursOf(i: number, width: number, height: number, out: Int32Array): number {
  const x = i % width;
  let count = 0;
  if (x > 0) out[count++] = i - 1;
  if (x < width - 1) out[count++] = i + 1;
  if (i >= width) out[count++] = i - width;
  if (i < (height - 1) * width) out[count++] = i + width;
  return count;
}
