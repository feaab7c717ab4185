/**
 * Binary mask clean-up (masks are 0/1 bytes, row-major). Internally each row
 * is packed 32 pixels to a word, so a pass costs a few operations per 32
 * pixels rather than per pixel.
 */

/** Radius of the closing that bridges small gaps: about 2 px per 512 px of the longer side. */
export function closingRadius(width: number, height: number): number {
  return Math.max(1, Math.round(Math.max(width, height) / 256));
}

/**
 * A closing of `radius` (bridges gaps narrower than 2 x radius: seams, printed
 * text), then an opening of 1 (drops specks of sensor or JPEG noise). The two
 * erosions in a row are one erosion of radius + 1 (squares add up), so it
 * takes three passes instead of four.
 */
export function closeGapsAndRemoveSpecks(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  const bits = pack(mask, width, height);
  squareFilter(bits, radius, DILATE);
  squareFilter(bits, radius + 1, ERODE);
  squareFilter(bits, 1, DILATE);
  return unpack(bits);
}

export function dilate(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  const bits = pack(mask, width, height);
  squareFilter(bits, radius, DILATE);
  return unpack(bits);
}

export function erode(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  const bits = pack(mask, width, height);
  squareFilter(bits, radius, ERODE);
  return unpack(bits);
}

/** A mask as bits: row y, pixel x is bit (x & 31) of words[y * wordsPerRow + (x >> 5)]. */
type BitMask = { words: Uint32Array; width: number; height: number; wordsPerRow: number };

/**
 * Dilation ORs the window, erosion ANDs it. Pixels outside the image take the
 * operation's neutral value (0 for OR, 1 for AND): the window is clipped at
 * the edge, so objects touching the border are not eaten.
 */
type Operation = { or: boolean; outside: number };
const DILATE: Operation = { or: true, outside: 0 };
const ERODE: Operation = { or: false, outside: 0xffffffff };

function pack(mask: Uint8Array, width: number, height: number): BitMask {
  const wordsPerRow = Math.ceil(width / 32);
  const words = new Uint32Array(wordsPerRow * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0, i = y * width; x < width; x++, i++) {
      if (mask[i] !== 0) words[y * wordsPerRow + (x >> 5)]! |= 1 << (x & 31);
    }
  }
  return { words, width, height, wordsPerRow };
}

function unpack(bits: BitMask): Uint8Array {
  const { words, width, height, wordsPerRow } = bits;
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0, i = y * width; x < width; x++, i++) mask[i] = (words[y * wordsPerRow + (x >> 5)]! >>> (x & 31)) & 1;
  }
  return mask;
}

/** Max (dilate) or min (erode) over a (2r+1)² square, in place: r one-pixel steps along rows, then a window of rows. */
function squareFilter(bits: BitMask, radius: number, operation: Operation): void {
  for (let step = 0; step < radius; step++) horizontalStep(bits, operation);
  verticalWindow(bits, radius, operation);
}

/** Each pixel combined with its left and right neighbour, every row. */
function horizontalStep(bits: BitMask, { or, outside }: Operation): void {
  const { words, wordsPerRow, width } = bits;
  const padding = wordsPerRow * 32 - width; // unused high bits of the last word stand for "outside"
  const paddingMask = padding === 0 ? 0 : (0xffffffff << (32 - padding)) >>> 0;
  for (let row = 0; row < words.length; row += wordsPerRow) {
    const last = row + wordsPerRow - 1;
    words[last] = outside === 0 ? words[last]! & ~paddingMask : words[last]! | paddingMask;
    let previous = outside;
    for (let k = row; k <= last; k++) {
      const word = words[k]!;
      const next = k < last ? words[k + 1]! : outside;
      const fromLeft = (word << 1) | (previous >>> 31);
      const fromRight = (word >>> 1) | (next << 31);
      words[k] = or ? word | fromLeft | fromRight : word & fromLeft & fromRight;
      previous = word;
    }
    words[last] = words[last]! & ~paddingMask;
  }
}

/** Each pixel combined with the `radius` rows above and below it (clipped at the image edge). */
function verticalWindow(bits: BitMask, radius: number, { or }: Operation): void {
  const { words, wordsPerRow, height } = bits;
  const source = words.slice();
  for (let y = 0; y < height; y++) {
    const first = Math.max(0, y - radius);
    const last = Math.min(height - 1, y + radius);
    for (let k = 0; k < wordsPerRow; k++) {
      let value = source[first * wordsPerRow + k]!;
      for (let r = first + 1; r <= last; r++) {
        value = or ? value | source[r * wordsPerRow + k]! : value & source[r * wordsPerRow + k]!;
      }
      words[y * wordsPerRow + k] = value >>> 0;
    }
  }
}
