/**
 * Offline background removal for product photos: the item stands on a
 * backdrop that is plain, graded, noisy or textured, possibly with the item's
 * shadow on it. The backdrop is modelled from the image border and what
 * departs from that model is the item.
 *
 * The mask is computed on a working copy at most WORK_SIDE px on a side
 * (working-copy.ts):
 * - border-model.ts: the backdrop as a smooth surface fitted to the border;
 * - threshold.ts: each pixel's distance to it, split at the border's noise;
 * - on a busy backdrop (stripes, fabric): backdrop-colours.ts, pixels off the
 *   border's own colours, and texture.ts, smooth patches where the backdrop
 *   is never smooth;
 * - on a plain one: shadow.ts, shadows cast on it cleared;
 * - morphology.ts: gaps closed, specks dropped;
 * - components.ts: the main object kept, its holes filled;
 * - confidence.ts: how far to trust the result;
 * - feather.ts: a soft outline;
 * then alpha.ts scales it up into the photo's alpha, redoing the outline at
 * full size, and the photo is written as a PNG at its own size.
 *
 * When no object is found the cut-out is the photo faded out towards its
 * edges (items are centred), with a low confidence.
 */
import { decodeImage, encodePng, type RgbaImage } from "../image.ts";
import { applyMatte } from "./alpha.ts";
import { backdropColours, markOffBackdrop } from "./backdrop-colours.ts";
import { type BackgroundModel, fitBackgroundModel } from "./border-model.ts";
import { fillHoles, mainComponent } from "./components.ts";
import { maskConfidence } from "./confidence.ts";
import { type Matte, softEdge } from "./feather.ts";
import { closeGapsAndRemoveSpecks, closingRadius } from "./morphology.ts";
import { clearShadows } from "./shadow.ts";
import { markSmoothOnBusyBackdrop } from "./texture.ts";
import { distanceToModel, thresholdMask } from "./threshold.ts";
import { workingCopy } from "./working-copy.ts";

export { UNSURE } from "./confidence.ts";

/** The mask is computed on a copy whose longer side is at most this (speed), then upscaled. */
export const WORK_SIDE = 512;
/** The confidence of the faded photo given when no object was found. */
export const FALLBACK_CONFIDENCE = 0.1;
/** The fallback keeps the centre whole out to this share of the half-width and half-height, then fades to 0 at the edges. */
const FALLBACK_SOLID_RADIUS = 0.7;

/** A cut-out and how sure the remover is of it (0..1; below UNSURE it is a guess). */
export type Cutout = { image: RgbaImage; confidence: number };

export class LocalBackgroundRemover {
  readonly name = "local";
  /** Each returned PNG's confidence, for as long as the caller holds the bytes. */
  private readonly confidences = new WeakMap<Uint8Array, number>();

  async remove({ original, signal }: { original: Uint8Array; signal: AbortSignal }): Promise<Uint8Array> {
    signal.throwIfAborted();
    const full = await decodeImage(original);
    signal.throwIfAborted();
    const { image, confidence } = cutOut(full, signal);
    signal.throwIfAborted();
    const png = await encodePng(image);
    this.confidences.set(png, confidence);
    return png;
  }

  confidenceOf(cutout: Uint8Array): number | undefined {
    return this.confidences.get(cutout);
  }
}

/** Sets `full`'s alpha (in place) from the foreground mask computed on a working copy; returns `full` and the mask's confidence. */
export function cutOut(full: RgbaImage, signal?: AbortSignal): Cutout {
  const work = workingCopy(full, WORK_SIDE);
  const { matte, confidence } = foregroundMatte(work.image);
  signal?.throwIfAborted();
  applyMatte(full, matte, work.factor);
  return { image: full, confidence };
}

/** cutOut's image alone. */
export function cutOutForeground(full: RgbaImage, signal?: AbortSignal): RgbaImage {
  return cutOut(full, signal).image;
}

/**
 * Alpha (0..255, one byte per pixel) of the main object of `img`: 255 inside,
 * 0 on the backdrop, a soft ramp along the outline. When no object stands
 * out, the image faded towards its edges: losing the item is worse than
 * keeping some backdrop.
 */
export function computeForegroundMask(img: RgbaImage): Uint8Array {
  return foregroundMatte(img).matte.alpha;
}

/** The matte of `img` (a working copy) and its confidence. */
export function foregroundMatte(img: RgbaImage): { matte: Matte; confidence: number } {
  const { width, height } = img;
  const model = fitBackgroundModel(img);
  const distance = distanceToModel(img, model.coefficients);
  const binary = thresholdMask(distance, model.threshold);
  const colours = backdropColours(model);
  let shadowPixels = 0;
  if (colours !== null) {
    markOffBackdrop(img, model, colours, binary);
    markSmoothOnBusyBackdrop(img, binary);
  } else {
    // Shadows on a plain backdrop only: on a busy one neither "the backdrop's colour, darker" nor "a small step" describes one.
    shadowPixels = clearShadows(img, model, binary, distance);
  }
  const cleaned = closeGapsAndRemoveSpecks(binary, width, height, closingRadius(width, height));
  const main = mainComponent(cleaned, width, height);
  if (main === null) return { matte: fadedToEdges(img, model), confidence: FALLBACK_CONFIDENCE };
  fillHoles(main, width, height);
  const evidence = { object: main, candidates: cleaned, distance, threshold: model.threshold, shadowPixels, busy: colours !== null, width, height };
  return { matte: softEdge(main, distance, model, width, height), confidence: maskConfidence(evidence) };
}

/** The fallback: opaque in the middle, fading to transparent at the edges along ellipses; no edge to refine. */
function fadedToEdges({ width, height }: RgbaImage, model: BackgroundModel): Matte {
  const alpha = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const dy = (2 * y + 1) / height - 1;
    for (let x = 0; x < width; x++) {
      const dx = (2 * x + 1) / width - 1;
      const fade = (1 - Math.hypot(dx, dy)) / (1 - FALLBACK_SOLID_RADIUS);
      alpha[y * width + x] = Math.round(255 * Math.min(1, Math.max(0, fade)));
    }
  }
  return { alpha, solid: new Float32Array(width * height), floor: model.threshold / 2, width, height, model };
}
