/**
 * sRGB to OKLab (Björn Ottosson's reference matrices), scaled x100: L 0..100,
 * a and b about -40..+40. Perceptual: equal distances look about equally
 * different, and scaling linear light by k (a shadow) scales L, a and b all
 * by cbrt(k), so hue is kept and chroma shrinks in step with L.
 *
 * Shared by the colorway (naming colours) and the local background remover
 * (telling a shadow from the item).
 */

/** sRGB 0..255 (integer) to linear light 0..1, tabulated: the per-pixel loops call it millions of times. */
export const SRGB_TO_LINEAR: Float64Array = Float64Array.from({ length: 256 }, (_, v) => srgbToLinear(v));

/** sRGB 0..255 (any real value) to linear light 0..1. */
export function srgbToLinear(v: number): number {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** Linear sRGB (0..1) to OKLab x100, written to out[at..at+2]. */
export function linearToOklab(lr: number, lg: number, lb: number, out: Float64Array | number[], at = 0): void {
  const l = Math.cbrt(0.4122214708 * lr + 0.5363325363 * lg + 0.0514459929 * lb);
  const m = Math.cbrt(0.2119034982 * lr + 0.6806995451 * lg + 0.1073969566 * lb);
  const s = Math.cbrt(0.0883024619 * lr + 0.2817188376 * lg + 0.6299787005 * lb);
  out[at] = 100 * (0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s);
  out[at + 1] = 100 * (1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s);
  out[at + 2] = 100 * (0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s);
}

/** sRGB (0..255, real values allowed) to OKLab x100 as [L, a, b]. */
export function srgbToOklab(r: number, g: number, b: number): [number, number, number] {
  const out: [number, number, number] = [0, 0, 0];
  linearToOklab(srgbToLinear(r), srgbToLinear(g), srgbToLinear(b), out);
  return out;
}

/** Chroma (distance from the grey axis) of an OKLab x100 colour. */
export function chroma(a: number, b: number): number {
  return Math.hypot(a, b);
}

/** Hue angle in degrees, 0..360 (0 = +a, pinkish red; 90 = +b, yellow; 180 = green; 270 = blue). */
export function hueDegrees(a: number, b: number): number {
  const h = (Math.atan2(b, a) * 180) / Math.PI;
  return h < 0 ? h + 360 : h;
}
