/** Per-pixel distance to the backdrop model, and the object/backdrop split on it. */
import type { RgbaImage } from "../../image.ts";
import { normalisedCoordinate } from "./border-model.ts";

/** Euclidean RGB distance of every pixel to the backdrop surface. */
export function distanceToModel(img: RgbaImage, coefficients: Float64Array[]): Float32Array {
  const { width, height, data } = img;
  const out = new Float32Array(width * height);
  const [kr, kg, kb] = coefficients as [Float64Array, Float64Array, Float64Array];
  for (let py = 0; py < height; py++) {
    const y = normalisedCoordinate(py, height);
    // Per row the quadric is a parabola in x: c0 + c1 x + c3 x² with row-constant parts folded in.
    const rowR = kr[0]! + kr[2]! * y + kr[4]! * y * y;
    const rowG = kg[0]! + kg[2]! * y + kg[4]! * y * y;
    const rowB = kb[0]! + kb[2]! * y + kb[4]! * y * y;
    const linR = kr[1]! + kr[5]! * y;
    const linG = kg[1]! + kg[5]! * y;
    const linB = kb[1]! + kb[5]! * y;
    for (let px = 0, i = py * width, p = i * 4; px < width; px++, i++, p += 4) {
      const x = normalisedCoordinate(px, width);
      const dr = data[p]! - (rowR + linR * x + kr[3]! * x * x);
      const dg = data[p + 1]! - (rowG + linG * x + kg[3]! * x * x);
      const db = data[p + 2]! - (rowB + linB * x + kb[3]! * x * x);
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
