/** Per-pixel distance to the backdrop model, and the object/backdrop split on it. */
import type { RgbaImage } from "../image.ts";
import { modelRow } from "./border-model.ts";

/** Euclidean RGB distance of every pixel to the backdrop surface. */
export function distanceToModel(img: RgbaImage, coefficients: Float64Array[]): Float32Array {
  const { width, height, data } = img;
  const out = new Float32Array(width * height);
  const backdrop = new Float32Array(width * 3);
  for (let py = 0; py < height; py++) {
    modelRow(coefficients, py, width, height, backdrop);
    for (let px = 0, i = py * width, p = i * 4, o = 0; px < width; px++, i++, p += 4, o += 3) {
      const dr = data[p]! - backdrop[o]!;
      const dg = data[p + 1]! - backdrop[o + 1]!;
      const db = data[p + 2]! - backdrop[o + 2]!;
      out[i] = Math.sqrt(dr * dr + dg * dg + db * db);
    }
  }
  return out;
}

/** 1 where the pixel departs from the backdrop by more than `threshold`, else 0. */
export function thresholdMask(distance: Float32Array, threshold: number): Uint8Array {
  const mask = new Uint8Array(distance.length);
  for (let i = 0; i < mask.length; i++) mask[i] = distance[i]! > threshold ? 1 : 0;
  return mask;
}

/** Distance of one pixel's colour to the backdrop surface at (x, y), both in -1..1: distanceToModel for a single pixel. */
export function distanceAt(coefficients: Float64Array[], r: number, g: number, b: number, x: number, y: number): number {
  const dr = r - quadricAt(coefficients[0]!, x, y);
  const dg = g - quadricAt(coefficients[1]!, x, y);
  const db = b - quadricAt(coefficients[2]!, x, y);
  return Math.sqrt(dr * dr + dg * dg + db * db);
}

function quadricAt(k: Float64Array, x: number, y: number): number {
  return k[0]! + k[1]! * x + k[2]! * y + k[3]! * x * x + k[4]! * y * y + k[5]! * x * y;
}
