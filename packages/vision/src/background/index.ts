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
import { type StageTimer, untimed } from "../timing.ts";
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

/** A cut-out: a PNG of the photo at its own size with the backdrop transparent, and how sure the remover is of it (0..1; below UNSURE it is a guess). */
export type Cutout = { png: Uint8Array; confidence: number };

export interface RemovalOptions {
  /** Checked between steps: once aborted, the removal stops with the signal's reason. */
  signal?: AbortSignal;
  time?: StageTimer;
}

/** Cuts the item out of `original` (JPEG, PNG or WebP bytes); bytes that do not decode are an UnreadableImageError. */
export async function removeBackground(original: Uint8Array, { signal, time = untimed }: RemovalOptions = {}): Promise<Cutout> {
  signal?.throwIfAborted();
  const full = await time("decode", () => decodeImage(original));
  signal?.throwIfAborted();
  const confidence = cutOut(full, { signal, time });
  signal?.throwIfAborted();
  const png = await time("encode PNG", () => encodePng(full));
  return { png, confidence };
}

/** Sets `full`'s alpha (in place) from the foreground mask computed on a working copy; returns the mask's confidence. */
function cutOut(full: RgbaImage, { signal, time = untimed }: RemovalOptions): number {
  const work = time("working copy", () => workingCopy(full, WORK_SIDE));
  const { matte, confidence } = foregroundMatte(work.image, time);
  signal?.throwIfAborted();
  time("scale matte into alpha", () => applyMatte(full, matte, work.factor));
  return confidence;
}

/**
 * The matte of `img` (a working copy) and its confidence: alpha 255 inside
 * the main object, 0 on the backdrop, a soft ramp along the outline. When no
 * object stands out, the image faded towards its edges: losing the item is
 * worse than keeping some backdrop.
 */
export function foregroundMatte(img: RgbaImage, time: StageTimer = untimed): { matte: Matte; confidence: number } {
  const { width, height } = img;
  const model = time("border model", () => fitBackgroundModel(img));
  const distance = time("distance to model", () => distanceToModel(img, model.coefficients));
  const binary = time("threshold", () => thresholdMask(distance, model.threshold));
  const colours = backdropColours(model);
  let shadowPixels = 0;
  if (colours !== null) {
    time("busy backdrop", () => {
      markOffBackdrop(img, model, colours, binary);
      markSmoothOnBusyBackdrop(img, binary);
    });
  } else {
    // Shadows on a plain backdrop only: on a busy one neither "the backdrop's colour, darker" nor "a small step" describes one.
    shadowPixels = time("shadows", () => clearShadows(img, model, binary, distance));
  }
  const cleaned = time("close gaps + remove specks", () => closeGapsAndRemoveSpecks(binary, width, height, closingRadius(width, height)));
  const main = time("main component + fill holes", () => {
    const component = mainComponent(cleaned, width, height);
    if (component !== null) fillHoles(component, width, height);
    return component;
  });
  if (main === null) return { matte: fadedToEdges(img, model), confidence: FALLBACK_CONFIDENCE };
  const matte = time("feather edge", () => softEdge(main, distance, model, width, height));
  const evidence = { object: main, candidates: cleaned, distance, threshold: model.threshold, shadowPixels, busy: colours !== null, width, height };
  return { matte, confidence: time("confidence", () => maskConfidence(evidence)) };
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
