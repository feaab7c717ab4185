/**
 * The local remover on the backdrops that used to defeat it: a contact
 * shadow under the item, sensor noise, stripes and fabric; and what it does
 * when it cannot find the item.
 */
import { describe, expect, test } from "bun:test";
import sharp from "sharp";
import { decodeImage } from "../image.ts";
import { alphaOf, HEIGHT, iou, svg, truthMask, WIDTH, withNoise } from "./fixtures.test-helpers.ts";
import { FALLBACK_CONFIDENCE, foregroundMatte, removeBackground, UNSURE } from "./index.ts";

/** Items as SVG elements (`FILL` is replaced by the fill attribute), each with where its contact shadow falls: centre x, bottom y, half-width. */
const ITEMS = {
  sneaker: {
    shape: `<path d="M150 420 L170 300 Q230 290 280 250 L360 200 Q400 190 420 230 Q470 300 560 320 Q660 340 660 400 L650 440 L160 440 Z" FILL/>`,
    foot: [405, 440, 250],
  },
  circle: { shape: `<circle cx="400" cy="290" r="170" FILL/>`, foot: [400, 460, 170] },
  lShape: { shape: `<polygon points="220,130 380,130 380,360 600,360 600,470 220,470" FILL/>`, foot: [410, 470, 195] },
} as const;
type Item = keyof typeof ITEMS;

/** Red, blue, a mid grey (as neutral as its shadow) and black (darker than any shadow). */
const COLOURS = ["#c8102e", "#2f6fdf", "#808080", "#222222"] as const;

/** A soft contact shadow: a blurred dark ellipse where the item meets the floor, half as bright as the backdrop at its core. */
function contactShadow(item: Item): string {
  const [x, y, halfWidth] = ITEMS[item].foot;
  return (
    `<defs><filter id="soft" x="-50%" y="-50%" width="200%" height="200%"><feGaussianBlur stdDeviation="10"/></filter></defs>` +
    `<rect width="100%" height="100%" fill="#eeeae4"/>` +
    `<ellipse cx="${x}" cy="${y}" rx="${halfWidth * 1.05}" ry="22" fill="#000" opacity="0.5" filter="url(#soft)"/>`
  );
}

/** A drop shadow: the item's own silhouette, offset down-right and blurred, on a cool backdrop. */
function dropShadow(item: Item): string {
  return (
    `<defs><filter id="soft" x="-50%" y="-50%" width="200%" height="200%"><feGaussianBlur stdDeviation="14"/></filter></defs>` +
    `<rect width="100%" height="100%" fill="#e8eef4"/>` +
    `<g transform="translate(30,25)" filter="url(#soft)" opacity="0.45">${ITEMS[item].shape.replace("FILL", `fill="#000"`)}</g>`
  );
}

const BUSY_BACKDROPS = {
  // Diagonal stripes of two beiges, 12 px each: more contrast than some items have with either.
  stripes: `<defs><pattern id="p" width="24" height="24" patternUnits="userSpaceOnUse" patternTransform="rotate(30)"><rect width="24" height="24" fill="#e6e0d2"/><rect width="12" height="24" fill="#c9c0ad"/></pattern></defs><rect width="100%" height="100%" fill="url(#p)"/>`,
  // Light and mid grey stripes: an item as light as the light ones is found by its smoothness alone.
  "contrasting stripes": `<defs><pattern id="p" width="16" height="16" patternUnits="userSpaceOnUse"><rect width="16" height="16" fill="#f4f4f4"/><rect width="8" height="16" fill="#9a9a9a"/></pattern></defs><rect width="100%" height="100%" fill="url(#p)"/>`,
  checkerboard: `<defs><pattern id="p" width="40" height="40" patternUnits="userSpaceOnUse"><rect width="40" height="40" fill="#dcdcdc"/><rect width="20" height="20" fill="#b4b4b4"/><rect x="20" y="20" width="20" height="20" fill="#b4b4b4"/></pattern></defs><rect width="100%" height="100%" fill="url(#p)"/>`,
  // Woven fabric: fine, irregular, in browns.
  fabric: `<defs><filter id="t"><feTurbulence type="turbulence" baseFrequency="0.35 0.08" numOctaves="2" seed="2"/><feColorMatrix type="matrix" values="0 0 0 0 0.3  0 0 0 0 0.25  0 0 0 0 0.2  0 0 0 2 0"/></filter></defs><rect width="100%" height="100%" fill="#e9e2d4"/><rect width="100%" height="100%" filter="url(#t)"/>`,
} as const;

async function cutOut(original: Buffer): Promise<{ alpha: Uint8Array; confidence: number; png: Uint8Array }> {
  const { png, confidence } = await removeBackground(original);
  return { alpha: (await alphaOf(png)).alpha, confidence, png };
}

async function photo(body: string, format: "png" | "jpeg"): Promise<Buffer> {
  const image = sharp(svg(body));
  return format === "png" ? image.png().toBuffer() : image.jpeg({ quality: 85 }).toBuffer();
}

/** The issue's targets: IoU >= 0.9 with shadows and busy backdrops. The fixtures here reach >= 0.94 (see docs/providers.md). */
const MIN_IOU = 0.9;

describe("shadows are backdrop", () => {
  const cases = (Object.keys(ITEMS) as Item[]).flatMap((item) =>
    COLOURS.flatMap((colour) => (["png", "jpeg"] as const).map((f) => [item, colour, f] as const)),
  );

  test.each(cases)(`a %s in %s with a contact shadow (%s): IoU >= ${MIN_IOU}`, async (item, colour, format) => {
    const { shape } = ITEMS[item];
    const { alpha, confidence } = await cutOut(await photo(contactShadow(item) + shape.replace("FILL", `fill="${colour}"`), format));
    expect(iou(alpha, await truthMask(shape))).toBeGreaterThanOrEqual(MIN_IOU);
    expect(confidence).toBeGreaterThanOrEqual(UNSURE);
  });

  test.each(["#c8102e", "#2f6fdf", "#222222"])(`a sneaker in %s with an offset drop shadow (JPEG): IoU >= ${MIN_IOU}`, async (colour) => {
    const { shape } = ITEMS.sneaker;
    const { alpha } = await cutOut(await photo(dropShadow("sneaker") + shape.replace("FILL", `fill="${colour}"`), "jpeg"));
    expect(iou(alpha, await truthMask(shape))).toBeGreaterThanOrEqual(MIN_IOU);
  });
});

describe("busy backdrops", () => {
  test.each(["#c8102e", "#808080", "#2f6fdf"])(
    `an item in %s on a noisy backdrop (sensor noise of 12 levels on every pixel): IoU >= ${MIN_IOU}`,
    async (colour) => {
      const { shape } = ITEMS.sneaker;
      const original = await withNoise(`<rect width="100%" height="100%" fill="#f2f2f2"/>${shape.replace("FILL", `fill="${colour}"`)}`, 12);
      const { alpha, confidence } = await cutOut(original);
      expect(iou(alpha, await truthMask(shape))).toBeGreaterThanOrEqual(MIN_IOU);
      expect(confidence).toBeGreaterThanOrEqual(UNSURE);
    },
  );

  const cases = (Object.keys(BUSY_BACKDROPS) as (keyof typeof BUSY_BACKDROPS)[]).flatMap((backdrop) =>
    ["#e0c090", "#808080", "#2f6fdf", "#f4f4f4"].map((colour) => [colour, backdrop] as const),
  );

  test.each(cases)(`an item in %s on %s: IoU >= ${MIN_IOU}`, async (colour, backdrop) => {
    const { shape } = ITEMS.lShape;
    const { alpha } = await cutOut(await photo(BUSY_BACKDROPS[backdrop] + shape.replace("FILL", `fill="${colour}"`), "jpeg"));
    expect(iou(alpha, await truthMask(shape))).toBeGreaterThanOrEqual(MIN_IOU);
  });
});

describe("when unsure", () => {
  test("an item the backdrop's colour still gets a cut-out: the photo faded towards its edges, with a confidence that says it is a guess", async () => {
    const body = `<rect width="100%" height="100%" fill="#f2f2f2"/>${ITEMS.circle.shape.replace("FILL", `fill="#f6f6f6"`)}`;
    const { alpha, confidence, png } = await cutOut(await photo(body, "png"));
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height, meta.hasAlpha]).toEqual(["png", WIDTH, HEIGHT, true]);
    expect(confidence).toBe(FALLBACK_CONFIDENCE);
    expect(alpha[(HEIGHT / 2) * WIDTH + WIDTH / 2]).toBe(255); // the centre, where items are, is kept
    expect(alpha[0]).toBe(0); // the corners are not
  });

  test("a white item on white whose hard shadow is all that shows: whatever is cut out, the confidence is below UNSURE", async () => {
    const shadow = `<defs><filter id="b" x="-50%" y="-50%" width="200%" height="200%"><feGaussianBlur stdDeviation="4"/></filter></defs><ellipse cx="400" cy="464" rx="170" ry="14" fill="#000" opacity="0.6" filter="url(#b)"/>`;
    const body = `<rect width="100%" height="100%" fill="#f0f0f0"/>${shadow}${ITEMS.circle.shape.replace("FILL", `fill="#fafafa"`)}`;
    const { confidence } = await cutOut(await photo(body, "png"));
    expect(confidence).toBeLessThan(UNSURE);
  });

  test("a clear item is trusted", async () => {
    const body = `<rect width="100%" height="100%" fill="#f2f2f2"/>${ITEMS.circle.shape.replace("FILL", `fill="#2f6fdf"`)}`;
    const { confidence } = await cutOut(await photo(body, "jpeg"));
    expect(confidence).toBeGreaterThan(0.9);
  });

  test("foregroundMatte reports the same confidence for the working copy", async () => {
    const body = `<rect width="100%" height="100%" fill="#f2f2f2"/>${ITEMS.circle.shape.replace("FILL", `fill="#f6f6f6"`)}`;
    const img = await decodeImage(await photo(body, "png"));
    expect(foregroundMatte(img).confidence).toBe(FALLBACK_CONFIDENCE);
  });
});
