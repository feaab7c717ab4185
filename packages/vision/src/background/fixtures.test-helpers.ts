/** Generated photos for the local remover's and colorway's tests: SVG rendered by sharp, scored against the shape itself. */
import sharp, { type OutputInfo } from "sharp";
import type { RgbaImage } from "../image.ts";

export const WIDTH = 800;
export const HEIGHT = 600;

export function svg(body: string, width = WIDTH, height = HEIGHT): Buffer {
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${body}</svg>`);
}

/** The SVG's pixels, alpha included (transparent where nothing is drawn). */
export async function rendered(body: string, width = WIDTH, height = HEIGHT): Promise<RgbaImage> {
  const { data, info } = await sharp(svg(body, width, height))
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** An SVG element (`FILL` standing for its fill attribute) drawn white on black: the ground truth mask, one byte per pixel. */
export async function truthMask(shape: string, width = WIDTH, height = HEIGHT): Promise<Uint8Array> {
  const body = `<rect width="100%" height="100%" fill="#000"/>${shape.replace("FILL", `fill="#fff"`)}`;
  return new Uint8Array(
    await sharp(svg(body, width, height))
      .greyscale()
      .raw()
      .toBuffer(),
  );
}

export async function alphaOf(png: Uint8Array): Promise<{ alpha: Uint8Array; info: OutputInfo }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const alpha = new Uint8Array(info.width * info.height);
  for (let i = 0; i < alpha.length; i++) alpha[i] = data[i * info.channels + info.channels - 1]!;
  return { alpha, info };
}

/** Intersection over union of two masks thresholded at 128. */
export function iou(a: Uint8Array, b: Uint8Array): number {
  let intersection = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const inA = a[i]! >= 128;
    const inB = b[i]! >= 128;
    if (inA && inB) intersection++;
    if (inA || inB) union++;
  }
  return union === 0 ? 0 : intersection / union;
}

/** The SVG as a PNG with sensor-like noise added to every pixel (item and backdrop alike): near-Gaussian, `sigma` levels, deterministic. */
export async function withNoise(body: string, sigma: number, seed = 42): Promise<Buffer> {
  const raw = await sharp(svg(body)).removeAlpha().raw().toBuffer();
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  // The sum of three uniforms has sigma 0.5.
  const gaussian = () => 2 * (uniform() + uniform() + uniform() - 1.5);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.max(0, Math.min(255, Math.round(raw[i]! + sigma * gaussian())));
  return sharp(raw, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    .png()
    .toBuffer();
}
