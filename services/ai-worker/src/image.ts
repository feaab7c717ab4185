/** Raw-pixel helpers over sharp, shared by the local background remover and analyzer. */
import sharp from "sharp";
import type { Sharp } from "sharp";
import { PermanentError } from "@pipeline/runtime/errors";

/** Decoded pixels, 4 bytes (R, G, B, A) per pixel, row-major. */
export type RgbaImage = { width: number; height: number; data: Uint8Array };

/**
 * Decodes JPEG/PNG/WebP bytes to RGBA, upright (EXIF orientation applied) and,
 * with `maxSide`, shrunk to fit it (never enlarged). Bytes that do not decode
 * are a PermanentError: retrying the job cannot fix them.
 */
export async function decodeImage(bytes: Uint8Array, maxSide?: number): Promise<RgbaImage> {
  try {
    let pipeline = sharp(bytes).autoOrient();
    if (maxSide !== undefined) {
      pipeline = pipeline.resize(maxSide, maxSide, { fit: "inside", withoutEnlargement: true });
    }
    const { data, info } = await pipeline.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (error) {
    throw new PermanentError(`image does not decode: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

/** Encodes RGBA pixels as a PNG (alpha kept). */
export async function encodePng(img: RgbaImage): Promise<Uint8Array> {
  const png = await sharpFromRgba(img).png().toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** A sharp pipeline reading already-decoded RGBA pixels. */
function sharpFromRgba(img: RgbaImage): Sharp {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 4 } });
}

/**
 * Resizes a one-byte-per-pixel plane (e.g. an alpha mask) to exactly `to`'s
 * size, bilinearly (pixel centres aligned), so a soft mask edge stays soft and
 * monotone: no ringing as with Lanczos. Plain JS: sharp would widen the plane
 * to three channels and back, which costs more than the interpolation.
 */
export function resizePlane(
  plane: Uint8Array,
  from: { width: number; height: number },
  to: { width: number; height: number },
): Uint8Array {
  if (from.width === to.width && from.height === to.height) return plane;
  const out = new Uint8Array(to.width * to.height);
  // Per output column: left source column and weight, computed once.
  const x0s = new Int32Array(to.width);
  const xWeights = new Float32Array(to.width);
  for (let x = 0; x < to.width; x++) {
    const sx = Math.min(from.width - 1, Math.max(0, ((x + 0.5) * from.width) / to.width - 0.5));
    x0s[x] = Math.floor(sx);
    xWeights[x] = sx - Math.floor(sx);
  }
  for (let y = 0; y < to.height; y++) {
    const sy = Math.min(from.height - 1, Math.max(0, ((y + 0.5) * from.height) / to.height - 0.5));
    const y0 = Math.floor(sy);
    const wy = sy - y0;
    const rowA = y0 * from.width;
    const rowB = Math.min(from.height - 1, y0 + 1) * from.width;
    for (let x = 0, o = y * to.width; x < to.width; x++, o++) {
      const x0 = x0s[x]!;
      const x1 = Math.min(from.width - 1, x0 + 1);
      const wx = xWeights[x]!;
      const top = plane[rowA + x0]! + (plane[rowA + x1]! - plane[rowA + x0]!) * wx;
      const bottom = plane[rowB + x0]! + (plane[rowB + x1]! - plane[rowB + x0]!) * wx;
      out[o] = Math.round(top + (bottom - top) * wy);
    }
  }
  return out;
}
