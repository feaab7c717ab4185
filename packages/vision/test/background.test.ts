import { describe, expect, test } from "bun:test";
import sharp from "sharp";
import { alphaOf, HEIGHT, iou, svg, truthMask as truthOf, WIDTH } from "../src/background/fixtures.test-helpers.ts";
import { decodeImage, FALLBACK_CONFIDENCE, removeBackground, UnreadableImageError } from "../src/index.ts";

// WIDTH x HEIGHT (800 x 600) is larger than the remover's working size, so the mask is upscaled.

/** Shapes as SVG elements; `FILL` is replaced by the fill attribute. */
const SHAPES = {
  circle: `<circle cx="400" cy="300" r="170" FILL/>`,
  rectangle: `<rect x="230" y="170" width="340" height="260" FILL/>`,
  lShape: `<polygon points="220,130 380,130 380,360 600,360 600,470 220,470" FILL/>`,
  sneaker: `<path d="M150 420 L170 300 Q230 290 280 250 L360 200 Q400 190 420 230 Q470 300 560 320 Q660 340 660 400 L650 440 L160 440 Z" FILL/>`,
} as const;

/** Muted mid-tones: their contrast to the backdrop is of the order of the gradient's span, so the backdrop must be modelled, not just averaged. */
const COLOURS: Record<keyof typeof SHAPES, string> = {
  circle: "#90a8d0",
  rectangle: "#e0c090",
  lShape: "#808080",
  sneaker: "#d09090",
};

const BACKGROUNDS = {
  plain: `<rect width="100%" height="100%" fill="#f2f2f2"/>`,
  // A gentle grade (0.1 level per pixel) from a studio light falling off; over the
  // width it spans 80 levels, more than a flat backdrop model can absorb.
  gradient:
    `<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="0">` +
    `<stop offset="0" stop-color="#f6f6f6"/><stop offset="1" stop-color="#a6a6a6"/></linearGradient></defs>` +
    `<rect width="100%" height="100%" fill="url(#g)"/>`,
} as const;

type Format = "png" | "jpeg" | "webp";

async function photo(shape: keyof typeof SHAPES, background: keyof typeof BACKGROUNDS, format: Format) {
  const image = sharp(svg(BACKGROUNDS[background] + SHAPES[shape].replace("FILL", `fill="${COLOURS[shape]}"`)));
  if (format === "png") return image.png().toBuffer();
  return format === "jpeg" ? image.jpeg({ quality: 80 }).toBuffer() : image.webp({ quality: 80 }).toBuffer();
}

/** The shape itself, rendered white on black: the ground truth. */
function truthMask(shape: keyof typeof SHAPES): Promise<Uint8Array> {
  return truthOf(SHAPES[shape]);
}

/** What docs/providers.md claims for these shapes. */
const CLAIMED_IOU = 0.99;

/** The cut-out's PNG alone. */
const cutOut = async (original: Uint8Array) => (await removeBackground(original)).png;

describe("removeBackground", () => {
  const cases: [keyof typeof SHAPES, keyof typeof BACKGROUNDS, Format][] = [];
  for (const shape of Object.keys(SHAPES) as (keyof typeof SHAPES)[]) {
    cases.push([shape, "plain", "png"], [shape, "gradient", "png"], [shape, "gradient", "jpeg"], [shape, "gradient", "webp"]);
  }

  test.each(cases)(`cuts out a %s on a %s background (%s) with IoU >= ${CLAIMED_IOU}`, async (shape, background, format) => {
    const original = await photo(shape, background, format);
    const cutout = await cutOut(original);

    const meta = await sharp(cutout).metadata();
    expect(meta.format).toBe("png");
    expect(meta.hasAlpha).toBe(true);
    expect(meta.channels).toBe(4);
    expect([meta.width, meta.height]).toEqual([WIDTH, HEIGHT]);

    const { alpha } = await alphaOf(cutout);
    expect(iou(alpha, await truthMask(shape))).toBeGreaterThanOrEqual(CLAIMED_IOU);
  });

  test("keeps the item's colours and makes the backdrop transparent", async () => {
    const cutout = await cutOut(await photo("circle", "plain", "png"));
    const { data } = await sharp(cutout).raw().toBuffer({ resolveWithObject: true });
    const centre = (300 * WIDTH + 400) * 4;
    expect([data[centre], data[centre + 1], data[centre + 2], data[centre + 3]]).toEqual([0x90, 0xa8, 0xd0, 255]);
    expect(data[(10 * WIDTH + 10) * 4 + 3]).toBe(0);
  });

  test("keeps the central object and drops a small blob in a corner", async () => {
    const body = BACKGROUNDS.plain + `<circle cx="400" cy="300" r="150" fill="#884422"/><rect x="20" y="20" width="30" height="30" fill="#884422"/>`;
    const cutout = await cutOut(await sharp(svg(body)).png().toBuffer());
    const { alpha } = await alphaOf(cutout);
    expect(alpha[300 * WIDTH + 400]).toBe(255);
    expect(alpha[35 * WIDTH + 35]).toBe(0);
  });

  test("fills holes: text printed in the backdrop's colour stays part of the item", async () => {
    const body =
      BACKGROUNDS.plain +
      `<rect x="200" y="200" width="400" height="200" fill="#222"/>` +
      `<text x="240" y="320" font-family="DejaVu Sans" font-size="60" fill="#f2f2f2">HOLES</text>`;
    const cutout = await cutOut(await sharp(svg(body)).png().toBuffer());
    const { alpha } = await alphaOf(cutout);
    let opaque = 0;
    for (let y = 210; y < 390; y++) for (let x = 210; x < 590; x++) if (alpha[y * WIDTH + x]! >= 128) opaque++;
    expect(opaque).toBe(180 * 380);
  });

  test("returns the upright size of an EXIF-rotated JPEG", async () => {
    const original = await sharp(await photo("rectangle", "plain", "png"))
      .jpeg()
      .withMetadata({ orientation: 6 }) // stored landscape, displayed portrait
      .toBuffer();
    const cutout = await cutOut(original);
    const meta = await sharp(cutout).metadata();
    expect([meta.width, meta.height]).toEqual([HEIGHT, WIDTH]);
  });

  test("the backdrop's colour is cleared under full transparency (the PNG compresses better)", async () => {
    const cutout = await cutOut(await photo("circle", "gradient", "webp"));
    const { data } = await sharp(cutout).raw().toBuffer({ resolveWithObject: true });
    const corner = (10 * WIDTH + 10) * 4;
    expect([...data.subarray(corner, corner + 4)]).toEqual([0, 0, 0, 0]);
  });

  test.each(["jpeg", "webp"] as const)("decodes %s to the same pixels as sharp (Bun.Image fast path)", async (format) => {
    const original = await photo("sneaker", "gradient", format);
    const reference = await sharp(original).autoOrient().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const decoded = await decodeImage(original);
    expect([decoded.width, decoded.height]).toEqual([reference.info.width, reference.info.height]);
    expect(Buffer.compare(Buffer.from(decoded.data), reference.data)).toBe(0);
  });

  test("returns the upright size of an EXIF-rotated WebP", async () => {
    const original = await sharp(await photo("rectangle", "plain", "png"))
      .webp()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const cutout = await cutOut(original);
    const meta = await sharp(cutout).metadata();
    expect([meta.width, meta.height]).toEqual([HEIGHT, WIDTH]);
  });

  test("a plain image with no object is kept, faded out towards its edges, rather than erased; its confidence says so", async () => {
    const { png, confidence } = await removeBackground(
      await sharp(svg(BACKGROUNDS.gradient, 200, 150))
        .png()
        .toBuffer(),
    );
    const { alpha } = await alphaOf(png);
    expect(alpha.length).toBe(200 * 150);
    expect(alpha[75 * 200 + 100]).toBe(255);
    expect(alpha[0]).toBe(0);
    expect(confidence).toBe(FALLBACK_CONFIDENCE);
  });

  test("bytes that are not an image are an UnreadableImageError", async () => {
    const original = new TextEncoder().encode("this is not an image at all");
    await expect(cutOut(original)).rejects.toBeInstanceOf(UnreadableImageError);
  });

  test("an aborted signal stops it with the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error("job cancelled");
    controller.abort(reason);
    const original = await photo("circle", "plain", "png");
    await expect(removeBackground(original, { signal: controller.signal })).rejects.toBe(reason);
  });
});
