/** The mask's outline softened into an alpha ramp. */
import type { BackgroundModel } from "./border-model.ts";

/**
 * A soft mask and what it takes to redo its edge at another size: `solid`
 * is, on the matted outline pixels, the distance of the nearby solid item
 * (0 elsewhere), and `floor` the distance at which alpha starts.
 */
export type Matte = { alpha: Uint8Array; solid: Float32Array; floor: number; width: number; height: number; model: BackgroundModel };

/**
 * 0/1 mask to 0..255 alpha with a soft edge. On the two-pixel ring along the
 * mask's outline a pixel is a mix of item and backdrop, and its distance to
 * the backdrop grows linearly with the item's share: alpha = distance /
 * (distance of the nearby solid item), like a one-step matting. This keeps
 * the edge where the colour is half-way (a hard threshold would put it a
 * pixel too far out) and antialiases it once upscaled.
 */
export function softEdge(mask: Uint8Array, distance: Float32Array, model: BackgroundModel, width: number, height: number): Matte {
  const alpha = new Uint8Array(mask.length);
  const solidNearby = new Float32Array(mask.length);
  for (let i = 0; i < mask.length; i++) alpha[i] = mask[i]! * 255;
  const floor = model.threshold / 2; // backdrop noise level: no alpha below it
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!onOutline(mask, i, x, y, width, height)) continue;
      const solid = maxDistanceInMask(mask, distance, x, y, width, height, 2);
      if (solid <= floor) continue;
      solidNearby[i] = solid;
      alpha[i] = mattedAlpha(distance[i]!, floor, solid);
    }
  }
  return { alpha, solid: solidNearby, floor, width, height, model };
}

/** Alpha of a pixel `distance` from the backdrop, between the backdrop's noise (`floor`) and the solid item (`solid`). */
export function mattedAlpha(distance: number, floor: number, solid: number): number {
  const share = (distance - floor) / (solid - floor);
  return Math.round(255 * Math.min(1, Math.max(0, share)));
}

/** True when a 4-neighbour lies on the other side of the mask's edge. */
function onOutline(mask: Uint8Array, i: number, x: number, y: number, width: number, height: number): boolean {
  const m = mask[i];
  return (x > 0 && mask[i - 1] !== m) || (x < width - 1 && mask[i + 1] !== m) || (y > 0 && mask[i - width] !== m) || (y < height - 1 && mask[i + width] !== m);
}

function maxDistanceInMask(mask: Uint8Array, distance: Float32Array, x: number, y: number, width: number, height: number, radius: number): number {
  let max = 0;
  for (let ny = Math.max(0, y - radius); ny <= Math.min(height - 1, y + radius); ny++) {
    for (let nx = Math.max(0, x - radius); nx <= Math.min(width - 1, x + radius); nx++) {
      const n = ny * width + nx;
      if (mask[n] === 1 && distance[n]! > max) max = distance[n]!;
    }
  }
  return max;
}
