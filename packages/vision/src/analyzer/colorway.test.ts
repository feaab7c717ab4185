/**
 * Colour naming: neutrals apart from warm tints, shading kept to one colour,
 * and the colour names of real colorways. Items are drawn on a transparent
 * canvas (a cut-out as the remover makes it), except where the test is the
 * whole path through the local remover.
 */
import { describe, expect, test } from "bun:test";
import sharp from "sharp";
import { rendered, svg } from "../background/fixtures.test-helpers.ts";
import { removeBackground } from "../background/index.ts";
import { decodeImage, type RgbaImage } from "../image.ts";
import { detectColorway } from "./colorway.ts";
import { srgbToOklab } from "./oklab.ts";
import { type ColourName, colorwayNames, colourName } from "./palette.ts";

const SNEAKER = {
  upper: `<path d="M150 420 L170 300 Q230 290 280 250 L360 200 Q400 190 420 230 Q470 300 560 320 Q660 340 660 400 L650 440 L160 440 Z" FILL/>`,
  swoosh: `<path d="M220 395 Q430 440 650 320 Q470 480 230 430 Z" FILL/>`,
  sole: `<rect x="150" y="425" width="515" height="30" rx="6" FILL/>`,
};

function part(shape: string, fill: string): string {
  return shape.replace("FILL", `fill="${fill}"`);
}

function flat(hex: number, size = 40): RgbaImage {
  const data = new Uint8Array(size * size * 4);
  for (let p = 0; p < data.length; p += 4) data.set([hex >> 16, (hex >> 8) & 255, hex & 255, 255], p);
  return { width: size, height: size, data };
}

function nameOfHex(hex: string): ColourName {
  const [r, g, b] = [1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16)) as [number, number, number];
  return colourName(...srgbToOklab(r, g, b));
}

describe("palette", () => {
  test("a flat #d9d9d9 is a neutral (Silver), not Beige, and the name is sure", () => {
    const result = detectColorway(flat(0xd9d9d9));
    expect(result.value).toBe("Silver");
    expect(result.confidence).toBeGreaterThan(0.95);
  });

  test.each([
    ["#ffffff", "White"],
    ["#f0f0f0", "White"],
    ["#d9d9d9", "Silver"],
    ["#e0e0e0", "Silver"],
    ["#c4c4c4", "Grey"], // a light grey is still Grey
    ["#a9a9a9", "Grey"],
    ["#808080", "Grey"],
    ["#a8a39c", "Grey"], // a warm grey: its tint is under the neutral chroma
    ["#778899", "Grey"], // a cool (bluish) grey
    ["#555555", "Charcoal"],
    ["#333333", "Charcoal"],
    ["#222222", "Black"],
    ["#000000", "Black"],
  ] as const)("neutral %s is %s", (hex, name) => {
    expect(nameOfHex(hex)).toBe(name);
  });

  test.each([
    ["#fffdd0", "Cream"],
    ["#f5f5dc", "Cream"],
    ["#e1c699", "Beige"],
    ["#e8d8c0", "Beige"],
    ["#d2b48c", "Tan"],
    ["#c19a6b", "Tan"],
    ["#8b4513", "Brown"],
    ["#5c4033", "Brown"],
    ["#4e342e", "Brown"], // dark and reddish: a low chroma, but a warm one
    ["#ff0000", "Red"],
    ["#c8102e", "Red"],
    ["#8b0000", "Red"],
    ["#ffc0cb", "Pink"],
    ["#ff69b4", "Pink"],
    ["#ff8000", "Orange"],
    ["#ffd700", "Yellow"],
    ["#ffff00", "Yellow"],
    ["#00a000", "Green"],
    ["#808000", "Green"], // olive
    ["#008080", "Teal"],
    ["#40e0d0", "Teal"],
    ["#0000ff", "Blue"],
    ["#4169e1", "Blue"],
    ["#1a3c8c", "Blue"],
    ["#000080", "Navy"],
    ["#1b2a4a", "Navy"],
    ["#800080", "Purple"],
    ["#8a2be2", "Purple"],
  ] as const)("%s is %s", (hex, name) => {
    expect(nameOfHex(hex)).toBe(name);
  });

  test("beige needs a warm tint: the same lightness and chroma in a cool hue is grey or blue, never beige", () => {
    const [lightness] = srgbToOklab(0xe8, 0xd8, 0xc0);
    expect(colourName(lightness, 0, 0)).toBe("Silver");
    expect(colourName(lightness, 0.5, 2.5)).toBe("Silver"); // warm but under the neutral chroma
    expect(colourName(lightness, 0.5, 4)).toBe("Beige");
    expect(colourName(lightness, -1, -3.5)).toBe("Silver"); // cool, and under its (larger) neutral chroma
  });
});

describe("shading is not a second colour", () => {
  test("a red shoe with its own darker shaded half is Red only", async () => {
    const shaded = `<clipPath id="back"><rect x="400" y="0" width="400" height="600"/></clipPath>`;
    const item = await rendered(`${shaded}${part(SNEAKER.upper, "#c8102e")}<g clip-path="url(#back)">${part(SNEAKER.upper, "#8c0b20")}</g>`);
    expect(detectColorway(item).value).toBe("Red");
  });

  test("a red shoe shaded by a gradient down to a deep shadow is Red only", async () => {
    const gradient = `<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#e0304a"/><stop offset="1" stop-color="#5a0510"/></linearGradient></defs>`;
    expect(detectColorway(await rendered(gradient + part(SNEAKER.upper, "url(#g)"))).value).toBe("Red");
  });

  test("a blue shoe whose shadow side reads as Navy is Blue only", async () => {
    const shaded = `<clipPath id="back"><rect x="450" y="0" width="350" height="600"/></clipPath>`;
    const item = await rendered(`${shaded}${part(SNEAKER.upper, "#2f6fdf")}<g clip-path="url(#back)">${part(SNEAKER.upper, "#12306a")}</g>`);
    expect(nameOfHex("#12306a")).toBe("Navy");
    expect(detectColorway(item).value).toBe("Blue");
  });

  test("a navy and royal blue two-tone stays two colours: their chroma does not fall in step with lightness", async () => {
    const front = `<clipPath id="front"><rect x="0" y="0" width="330" height="600"/></clipPath>`;
    const item = await rendered(`${front}${part(SNEAKER.upper, "#1e3a5f")}<g clip-path="url(#front)">${part(SNEAKER.upper, "#4169e1")}</g>`);
    expect(detectColorway(item).value).toBe("Navy/Blue");
  });

  test("a white shoe shaded into light grey is White (a gradient of light, not two colours)", async () => {
    // Lit from above: white most of the way down, shaded to a light grey (#c8c8c8, Silver) towards the sole.
    const gradient = `<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#ffffff"/><stop offset="0.6" stop-color="#ededed"/><stop offset="1" stop-color="#c8c8c8"/></linearGradient></defs>`;
    const item = await rendered(gradient + part(SNEAKER.upper, "url(#g)") + part(SNEAKER.sole, "#f7f7f7"));
    expect(detectColorway(item).value).toBe("White");
  });

  test("a black camera body with a dark grey lens ring (13 % of it) is Black; a black and charcoal two-tone is both", async () => {
    const camera = (ring: string) =>
      `<rect x="100" y="150" width="600" height="340" rx="40" fill="#222"/>` +
      `<rect x="230" y="95" width="200" height="80" rx="12" fill="#2a2a2a"/>${ring}` +
      `<circle cx="470" cy="330" r="70" fill="#111"/>`;
    const small = await rendered(camera(`<circle cx="470" cy="330" r="120" fill="#555"/>`));
    expect(detectColorway(small).value).toBe("Black");
    const large = await rendered(camera(`<rect x="100" y="150" width="300" height="340" fill="#555"/>`));
    expect(detectColorway(large).value).toBe("Black/Charcoal");
  });

  test("through the local remover, the issue's camera (JPEG, black body, dark grey ring, white label) is Black", async () => {
    const body =
      `<rect width="100%" height="100%" fill="#f2f2f2"/>` +
      `<rect x="200" y="250" width="620" height="360" rx="40" fill="#222"/><rect x="330" y="190" width="200" height="80" rx="12" fill="#2a2a2a"/>` +
      `<circle cx="600" cy="460" r="125" fill="#555"/><circle cx="600" cy="460" r="75" fill="#111"/>` +
      `<text x="240" y="320" font-family="DejaVu Sans" font-weight="bold" font-size="48" fill="#ffffff">Canon EOS R5</text>`;
    const original = await sharp(svg(body, 1024, 768))
      .jpeg({ quality: 80 })
      .toBuffer();
    const cutout = await removeBackground(original);
    const result = detectColorway(await decodeImage(cutout.png), cutout.confidence);
    expect(result.value).toBe("Black");
    expect(result.confidence).toBeGreaterThan(0.9);
  });
});

describe("real colorways", () => {
  test.each([
    ["Black/White", ["Black", "White"]],
    ["Triple White", ["White"]],
    ["Triple Black", ["Black"]],
    ["Grey/Silver", ["Grey", "Silver"]],
    ["Wolf Grey/Pure Platinum", ["Grey", "Silver"]],
    ["Sail/Black", ["Cream", "Black"]],
    ["University Red/Black/White", ["Red", "Black", "White"]],
  ] as const)("%s reads as %j", (colorway, names) => {
    expect(colorwayNames(colorway)).toEqual([...names]);
  });

  test('a white shoe with a black swoosh is "White/Black"', async () => {
    const item = await rendered(part(SNEAKER.upper, "#f4f4f4") + part(SNEAKER.swoosh, "#111111") + part(SNEAKER.sole, "#ffffff"));
    const result = detectColorway(item);
    expect(result.value).toBe("White/Black");
    expect(colorwayNames(result.value!)).toEqual(colorwayNames("White/Black"));
  });

  test('a grey shoe with silver panels and sole is "Grey/Silver"', async () => {
    const panel = `<clipPath id="heel"><rect x="470" y="0" width="330" height="600"/></clipPath>`;
    const item = await rendered(
      `${panel}${part(SNEAKER.upper, "#8a8a8a")}<g clip-path="url(#heel)">${part(SNEAKER.upper, "#d8d8d8")}</g>${part(SNEAKER.sole, "#d8d8d8")}`,
    );
    const result = detectColorway(item);
    expect(result.value).toBe("Grey/Silver");
    expect(result.confidence).toBeGreaterThan(0.8);
  });

  test('an all-white shoe ("Triple White") is "White"', async () => {
    const item = await rendered(part(SNEAKER.upper, "#f5f5f5") + part(SNEAKER.swoosh, "#ffffff") + part(SNEAKER.sole, "#fafafa"));
    const result = detectColorway(item);
    expect(result.value).toBe("White");
    expect(colorwayNames("Triple White")).toEqual([result.value as ColourName]);
  });
});

describe("confidence", () => {
  test("a colour near a boundary of the palette is less sure than one in the middle of its name", () => {
    expect(detectColorway(flat(0xe0c090)).confidence).toBeLessThan(detectColorway(flat(0xc8102e)).confidence);
  });

  test("an unsure cut-out makes unsure colours", () => {
    const sure = detectColorway(flat(0xc8102e));
    const doubtful = detectColorway(flat(0xc8102e), 0.1);
    expect(doubtful.value).toBe("Red");
    expect(doubtful.confidence).toBeCloseTo(0.1 * sure.confidence, 6);
  });

  test("only opaque pixels count, and a cut-out with none has no colorway", () => {
    const image = flat(0xc8102e, 20);
    for (let p = 3; p < image.data.length / 2; p += 4) image.data.set([0, 0, 255, 0], p - 3); // top half: transparent blue
    expect(detectColorway(image).value).toBe("Red");
    for (let p = 3; p < image.data.length; p += 4) image.data[p] = 0;
    expect(detectColorway(image)).toEqual({ value: null, confidence: 0 });
  });
});
