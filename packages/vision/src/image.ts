/** Raw-pixel helpers over sharp (and Bun's own codecs), shared by the local background remover and the analyzers. */

import { PermanentError } from "@pipeline/runtime/errors";
import sharp from "sharp";

/** Decoded pixels, 4 bytes (R, G, B, A) per pixel, row-major. */
export type RgbaImage = { width: number; height: number; data: Uint8Array };

/**
 * Decodes JPEG/PNG/WebP bytes to RGBA, upright (EXIF orientation applied) and,
 * with `maxSide`, shrunk to fit it (never enlarged). Bytes that do not decode
 * are a PermanentError: retrying the job cannot fix them.
 */
export async function decodeImage(bytes: Uint8Array, maxSide?: number): Promise<RgbaImage> {
  if (maxSide === undefined) {
    const decoded = await decodeWithBunImage(bytes);
    if (decoded !== null) return decoded;
  }
  return decodeWithSharp(bytes, maxSide);
}

async function decodeWithSharp(bytes: Uint8Array, maxSide?: number): Promise<RgbaImage> {
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

// ---------------------------------------------------------------------------
// Fast path: through sharp, a 600 x 400 WebP photo costs ~8 ms of CPU to
// decode, about three times what libwebp itself needs; through Bun.Image to an
// uncompressed PNG, read here, ~2-3 ms (a JPEG: ~1.5 ms instead of ~2). The
// pixels are the same as sharp's. Anything unexpected returns null, and sharp
// decodes as before (PNG always: Bun.Image ignores a PNG's EXIF orientation).

/** Bun.Image exists from Bun 1.4 on; typed loosely so older runtimes fall back instead of failing. */
const BunImage = (globalThis as { Bun?: { Image?: typeof Bun.Image } }).Bun?.Image;

async function decodeWithBunImage(bytes: Uint8Array): Promise<RgbaImage | null> {
  if (BunImage === undefined || !(isJpeg(bytes) || isWebpWithoutExif(bytes))) return null;
  try {
    // Level 0: deflate's stored blocks, so the round trip is little more than a copy.
    const png = await new BunImage(bytes).png({ compressionLevel: 0 }).bytes();
    return readRgbaPng(png);
  } catch {
    return null; // sharp will say what is wrong with the bytes
  }
}

function isJpeg(bytes: Uint8Array): boolean {
  return bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Bun.Image applies EXIF orientation to JPEG only, so a WebP that carries EXIF (VP8X flag) goes to sharp. */
function isWebpWithoutExif(bytes: Uint8Array): boolean {
  if (bytes.length < 30 || ascii(bytes, 0, 4) !== "RIFF" || ascii(bytes, 8, 4) !== "WEBP") return false;
  const extended = ascii(bytes, 12, 4) === "VP8X";
  return !extended || (bytes[20]! & 0x08) === 0;
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

const PNG_SIGNATURE_LENGTH = 8;
const COLOUR_TYPE_RGBA = 6;
/** Chunk types as big-endian 32-bit numbers, compared without making strings. */
const IHDR = 0x49484452;
const IDAT = 0x49444154;
const IEND = 0x49454e44;
/** A zlib stream is a 2-byte header, raw deflate, and a 4-byte Adler-32. */
const ZLIB_HEADER = 2;
const ZLIB_TRAILER = 4;

/**
 * Pixels of a PNG as Bun.Image writes it: 8-bit RGBA, not interlaced, every
 * row unfiltered (what it writes at compression level 0). Null for anything
 * else, rather than a full PNG decoder for a case that does not arise.
 */
function readRgbaPng(png: Uint8Array): RgbaImage | null {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let header: { width: number; height: number } | null = null;
  const compressed: Uint8Array[] = [];
  for (let offset = PNG_SIGNATURE_LENGTH; offset + 8 <= png.length; ) {
    const length = view.getUint32(offset);
    const type = view.getUint32(offset + 4);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === IHDR) {
      const [depth, colourType, interlace] = [body[8], body[9], body[12]];
      if (depth !== 8 || colourType !== COLOUR_TYPE_RGBA || interlace !== 0) return null;
      header = { width: view.getUint32(offset + 8), height: view.getUint32(offset + 12) };
    } else if (type === IDAT) {
      compressed.push(body);
    } else if (type === IEND) {
      break;
    }
    offset += 12 + length; // length, type, body, CRC
  }
  if (header === null) return null;
  const stream = Buffer.concat(compressed);
  // The checksum is not verified: the bytes were made a moment ago, in this process.
  const scanlines = Bun.inflateSync(stream.subarray(ZLIB_HEADER, stream.length - ZLIB_TRAILER));
  return unfilteredRows(scanlines, header.width, header.height);
}

/**
 * Drops the filter byte of each row, in place (memmove per row, no copies or
 * views allocated); null when a row is filtered or the data is short.
 */
function unfilteredRows(scanlines: Uint8Array, width: number, height: number): RgbaImage | null {
  const rowBytes = width * 4;
  if (scanlines.length < height * (rowBytes + 1)) return null;
  for (let y = 0, from = 0; y < height; y++, from += rowBytes + 1) {
    if (scanlines[from] !== 0) return null;
    scanlines.copyWithin(y * rowBytes, from + 1, from + 1 + rowBytes);
  }
  return { width, height, data: scanlines.subarray(0, rowBytes * height) };
}

// ---------------------------------------------------------------------------
// Encoding

/**
 * The pixels each PNG from `encodePng` was made from, so a later stage in the
 * same job (the OpenAI analyzer's JPEG) need not decode the PNG again. Weak:
 * the pixels go when the PNG bytes do.
 */
const sourcePixels = new WeakMap<Uint8Array, RgbaImage>();

/**
 * Encodes RGBA pixels as a PNG (alpha kept). Level 1 without adaptive filters:
 * on a cut-out (backdrop transparent and zeroed) it is about 3x cheaper than
 * the default level 6 for a file about 1.5x as large.
 */
export async function encodePng(img: RgbaImage): Promise<Uint8Array> {
  const png = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 4 } })
    .png({ compressionLevel: 1, adaptiveFiltering: false })
    .toBuffer();
  const bytes = new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
  sourcePixels.set(bytes, img);
  return bytes;
}

/** The pixels `bytes` were encoded from by `encodePng` in this process, if they are still at hand. Do not modify them. */
export function pixelsEncodedAs(bytes: Uint8Array): RgbaImage | undefined {
  return sourcePixels.get(bytes);
}

/** RGB (3 bytes per pixel) of `img` composited over white, as a viewer without alpha would show it. */
export function flattenOnWhite(img: RgbaImage): Uint8Array {
  const { data } = img;
  const out = new Uint8Array(img.width * img.height * 3);
  for (let p = 0, o = 0; p < data.length; p += 4, o += 3) {
    const alpha = data[p + 3]!;
    if (alpha === 255) {
      out[o] = data[p]!;
      out[o + 1] = data[p + 1]!;
      out[o + 2] = data[p + 2]!;
    } else {
      const white = 255 * (255 - alpha) + 127; // + 127 rounds the division below
      out[o] = (data[p]! * alpha + white) / 255;
      out[o + 1] = (data[p + 1]! * alpha + white) / 255;
      out[o + 2] = (data[p + 2]! * alpha + white) / 255;
    }
  }
  return out;
}
