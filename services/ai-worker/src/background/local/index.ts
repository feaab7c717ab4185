/**
 * Offline background removal for product photos: the item stands on a fairly
 * plain (possibly gently graded) backdrop, so the backdrop is modelled from
 * the image border and everything that departs from that model is the item.
 *
 * The mask is computed on a working copy at most WORK_SIDE px on a side
 * (working-copy.ts):
 * - border-model.ts: the backdrop as a smooth surface fitted to the border;
 * - threshold.ts: each pixel's distance to it, split at the border's noise;
 * - morphology.ts: gaps closed, specks dropped;
 * - components.ts: the main object kept, its holes filled;
 * - feather.ts: a soft outline;
 * then alpha.ts scales it up into the photo's alpha, redoing the outline at
 * full size, and the photo is written as a PNG at its own size.
 */
import { decodeImage, encodePng, type RgbaImage } from "../../image.ts";
import type { BackgroundRemovalInput, BackgroundRemover } from "../../providers.ts";
import { applyMatte } from "./alpha.ts";
import { type BackgroundModel, fitBackgroundModel } from "./border-model.ts";
import { fillHoles, mainComponent } from "./components.ts";
import { type Matte, softEdge } from "./feather.ts";
import { closeGapsAndRemoveSpecks, closingRadius } from "./morphology.ts";
import { distanceToModel, thresholdMask } from "./threshold.ts";
import { workingCopy } from "./working-copy.ts";

/** The mask is computed on a copy whose longer side is at most this (speed), then upscaled. */
export const WORK_SIDE = 512;

export class LocalBackgroundRemover implements BackgroundRemover {
  readonly name = "local";

  async remove({ original, signal }: BackgroundRemovalInput): Promise<Uint8Array> {
    signal.throwIfAborted();
    const full = await decodeImage(original);
    signal.throwIfAborted();
    const cutout = cutOutForeground(full, signal);
    signal.throwIfAborted();
    return encodePng(cutout);
  }
}

/** Sets `full`'s alpha (in place) from the foreground mask computed on a working copy, and returns `full`. */
export function cutOutForeground(full: RgbaImage, signal?: AbortSignal): RgbaImage {
  const work = workingCopy(full, WORK_SIDE);
  const matte = foregroundMatte(work.image);
  signal?.throwIfAborted();
  applyMatte(full, matte, work.factor);
  return full;
}

/**
 * Alpha (0..255, one byte per pixel) of the main object of `img`: 255 inside,
 * 0 on the backdrop, a soft ramp along the outline. When no object stands out, the
 * whole image is kept (all 255): losing the item is worse than keeping the backdrop.
 */
export function computeForegroundMask(img: RgbaImage): Uint8Array {
  return foregroundMatte(img).alpha;
}

function foregroundMatte(img: RgbaImage): Matte {
  const { width, height } = img;
  const model = fitBackgroundModel(img);
  const distance = distanceToModel(img, model.coefficients);
  const binary = thresholdMask(distance, model.threshold);
  const cleaned = closeGapsAndRemoveSpecks(binary, width, height, closingRadius(width, height));
  const main = mainComponent(cleaned, width, height);
  if (main === null) return keepEverything(img, model);
  fillHoles(main, width, height);
  return softEdge(main, distance, model, width, height);
}

/** All 255 and no edge to refine. */
function keepEverything({ width, height }: RgbaImage, model: BackgroundModel): Matte {
  const pixels = width * height;
  return { alpha: new Uint8Array(pixels).fill(255), solid: new Float32Array(pixels), floor: model.threshold / 2, width, height, model };
}
