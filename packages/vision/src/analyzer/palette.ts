/**
 * The colour names the local analyzer uses, and the rules that give an OKLab
 * colour (x100, oklab.ts) its name. Rules rather than nearest reference
 * shades: with shades, a flat light grey (#d9d9d9) sat nearer a beige shade
 * than any grey one. Here chroma decides first whether a colour has a hue at
 * all:
 * - below the neutral chroma it is White, Silver, Grey, Charcoal or Black by
 *   lightness alone;
 * - warm hues of low chroma are Cream, Beige, Tan or Brown by lightness (so
 *   "Beige" needs a visible warm tint);
 * - everything else is named by hue angle, with lightness splitting Pink from
 *   Red, Navy from Blue, Brown from Orange and Yellow.
 */
import { chroma, hueDegrees } from "./oklab.ts";

export const COLOUR_NAMES = [
  "White",
  "Silver",
  "Grey",
  "Charcoal",
  "Black",
  "Red",
  "Pink",
  "Orange",
  "Yellow",
  "Green",
  "Teal",
  "Blue",
  "Navy",
  "Purple",
  "Brown",
  "Tan",
  "Beige",
  "Cream",
] as const;
export type ColourName = (typeof COLOUR_NAMES)[number];

/** The achromatic names from light to dark, with the OKLab L (x100) each starts at. */
const NEUTRALS: ReadonlyArray<readonly [name: ColourName, fromLightness: number]> = [
  ["White", 92], // #e5e5e5 and lighter
  ["Silver", 85], // #cecece .. #e4e4e4 (#d9d9d9 is Silver)
  ["Grey", 50], // #646464 .. #cdcdcd (a light grey such as #c4c4c4 is still Grey)
  ["Charcoal", 30], // #2e2e2e .. #636363
  ["Black", 0], // #2d2d2d and darker
];

/**
 * Chroma (OKLab x100) below which a colour counts as neutral. Warm hues show
 * a tint sooner (a grey that is 3 units yellow already looks beige), cool
 * ones later (a bluish cast on grey is the camera's white balance), and very
 * dark colours later still (their chroma is mostly JPEG noise).
 */
const WARM_NEUTRAL_CHROMA = 3;
const COOL_NEUTRAL_CHROMA = 4;
const DARK_NEUTRAL_CHROMA = 5;
const DARK_LIGHTNESS = 30;
/** Warm hues (degrees) where low chroma reads as cream, beige, tan or brown rather than as its hue. */
const WARM_HUES = [25, 120] as const;
/** Up to this chroma a warm colour is Cream/Beige/Tan/Brown; beyond it, Orange or Yellow (or Brown when dark). */
const LOW_WARM_CHROMA = 8;

/** The palette name of an OKLab (x100) colour. */
export function colourName(lightness: number, a: number, b: number): ColourName {
  const c = chroma(a, b);
  const hue = hueDegrees(a, b);
  const warm = hue >= WARM_HUES[0] && hue < WARM_HUES[1];
  const neutralChroma = lightness < DARK_LIGHTNESS ? DARK_NEUTRAL_CHROMA : warm ? WARM_NEUTRAL_CHROMA : COOL_NEUTRAL_CHROMA;
  if (c < neutralChroma) return neutralName(lightness);
  if (warm && c < LOW_WARM_CHROMA) {
    if (lightness >= 90) return "Cream";
    if (lightness >= 80) return "Beige";
    return lightness >= 60 ? "Tan" : "Brown";
  }
  if (hue < 40) return lightness >= 70 ? "Pink" : lightness < 55 && c < 10 ? "Brown" : "Red";
  if (hue < 75) return lightness < 58 ? "Brown" : "Orange";
  if (hue < 120) return lightness >= 72 ? "Yellow" : hue < 100 ? "Brown" : "Green";
  if (hue < 175) return "Green";
  if (hue < 220) return "Teal";
  if (hue < 290) return lightness < 36 ? "Navy" : "Blue";
  if (hue < 330) return "Purple";
  return lightness >= 55 ? "Pink" : "Purple";
}

function neutralName(lightness: number): ColourName {
  for (const [name, from] of NEUTRALS) if (lightness >= from) return name;
  return "Black";
}

/** Position on the neutral scale (0 = White .. 4 = Black), or -1 for a chromatic name. */
export function neutralRank(name: ColourName): number {
  return NEUTRALS.findIndex(([n]) => n === name);
}

/**
 * Collectors' words for colours, as palette names. Colorways are written
 * "Black/White" (largest area first, as this analyzer reports them); a
 * "Triple White" is an item that is white all over, which this analyzer
 * reports as plain "White".
 */
const SYNONYMS: Readonly<Record<string, ColourName>> = {
  gray: "Grey",
  "wolf grey": "Grey",
  "cool grey": "Grey",
  "light grey": "Silver",
  "pure platinum": "Silver",
  platinum: "Silver",
  "metallic silver": "Silver",
  anthracite: "Charcoal",
  "dark grey": "Charcoal",
  "dark gray": "Charcoal",
  sail: "Cream",
  "off white": "Cream",
  "off-white": "Cream",
  bone: "Cream",
  ivory: "Cream",
  khaki: "Tan",
  sand: "Beige",
  "university red": "Red",
  "varsity red": "Red",
  "gym red": "Red",
  burgundy: "Red",
  maroon: "Red",
  "university blue": "Blue",
  "varsity royal": "Blue",
  royal: "Blue",
  obsidian: "Navy",
  "midnight navy": "Navy",
  volt: "Yellow",
  gold: "Yellow",
  olive: "Green",
  "pine green": "Green",
  turquoise: "Teal",
  aqua: "Teal",
  violet: "Purple",
  magenta: "Pink",
};

/**
 * The palette names in a colorway as collectors write it: "Black/White" is
 * [Black, White], "Triple White" is [White], "Wolf Grey/Pure Platinum" is
 * [Grey, Silver]. Words it does not know are left out.
 */
export function colorwayNames(colorway: string): ColourName[] {
  const names: ColourName[] = [];
  for (const part of colorway.split("/")) {
    const words = part
      .trim()
      .toLowerCase()
      .replace(/^triple\s+/, "");
    const name = SYNONYMS[words] ?? COLOUR_NAMES.find((n) => n.toLowerCase() === words || words.endsWith(` ${n.toLowerCase()}`));
    if (name !== undefined && !names.includes(name)) names.push(name);
  }
  return names;
}
