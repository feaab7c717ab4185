/**
 * The evaluation set's scenes, drawn from a seed: which catalogue item (or
 * none), on which product shape, in which body colour, with what lettering,
 * backdrop, shadow, blur and JPEG quality. Rendering is in render.ts.
 */
import type { Category } from "@pipeline/contracts/asset";
import type { Random } from "./random.ts";

/** Frame of every image: a 1024 px upload, as the analyzer's timing target names. */
export const FRAME = { width: 1024, height: 768 } as const;
/** The issue gives text sizes "at 1000 px width". */
export const SIZE_SCALE = FRAME.width / 1000;

export type Item = { category: Category; brand: string; model: string; set?: string };

export type Shape = "sneaker" | "camera" | "box" | "device";
export type Polarity = "dark-on-light" | "light-on-dark" | "dark-on-saturated" | "light-on-light-grey";
export type Backdrop = "plain" | "noise" | "stripes" | "paper";

export type FontStyle = { family: string; weight: "normal" | "bold"; label: string };
export const FONTS: readonly FontStyle[] = [
  { family: "DejaVu Sans", weight: "normal", label: "Sans" },
  { family: "DejaVu Sans", weight: "bold", label: "Sans Bold" },
  { family: "DejaVu Serif", weight: "normal", label: "Serif" },
  { family: "DejaVu Serif", weight: "bold", label: "Serif Bold" },
  { family: "DejaVu Sans Mono", weight: "normal", label: "Mono" },
  { family: "DejaVu Sans Mono", weight: "bold", label: "Mono Bold" },
  { family: "DejaVu Sans Condensed", weight: "normal", label: "Sans Condensed" },
  { family: "DejaVu Sans Condensed", weight: "bold", label: "Sans Condensed Bold" },
  { family: "DejaVu Serif Condensed", weight: "bold", label: "Serif Condensed Bold" },
];

/** A body colour and the name a person would give it (the truth for the colorway's first colour). */
type Swatch = { name: string; hex: string };
const swatches = (name: string, ...hexes: string[]): Swatch[] => hexes.map((hex) => ({ name, hex }));

/** Body colours per text polarity: the surface the lettering is printed on. */
const BODIES: Record<Polarity, Swatch[]> = {
  "dark-on-light": [
    ...swatches("White", "#f5f5f3", "#eeeeea", "#fafafa"),
    ...swatches("Beige", "#e4d5b7", "#d8c3a0"),
    ...swatches("Pink", "#f4b6c8"),
    ...swatches("Blue", "#a8c8e8"),
  ],
  "light-on-dark": [
    ...swatches("Black", "#161616", "#1e1e1e", "#101010"),
    ...swatches("Navy", "#1b2a4a", "#14213d"),
    ...swatches("Green", "#1f4d2b"),
    ...swatches("Brown", "#4e342e", "#5c4033"),
    ...swatches("Purple", "#4b1f6f"),
    ...swatches("Red", "#8b0000"),
  ],
  "dark-on-saturated": [
    ...swatches("Red", "#c8102e", "#d71920", "#e53935"),
    ...swatches("Orange", "#f26a1b", "#ff7f00"),
    ...swatches("Yellow", "#f5d000", "#ffd700"),
    ...swatches("Green", "#2e9e44"),
    ...swatches("Blue", "#1e73d2", "#1e90ff"),
    ...swatches("Pink", "#ff69b4"),
  ],
  "light-on-light-grey": swatches("Grey", "#b4b4b4", "#bdbdbd", "#c4c4c4", "#a9a9a9"),
};

const INK: Record<Polarity, string[]> = {
  "dark-on-light": ["#111111", "#1c1c1c", "#202a44"],
  "light-on-dark": ["#ffffff", "#f2f2f2", "#e8e8e8"],
  "dark-on-saturated": ["#111111", "#000000", "#1a1a1a"],
  "light-on-light-grey": ["#ffffff", "#fafafa"],
};

/** Studio backdrops: neutrals and soft tints, light to dark. */
const BACKDROP_COLOURS = ["#f2f2f2", "#e6e6e4", "#d6d6d6", "#efe7d8", "#c9d3dc", "#8a8a8a", "#3a3a3a", "#2a2d34"];
/** A photographer keeps the item apart from its backdrop: at least this RGB distance between them. */
const MIN_BACKDROP_CONTRAST = 90;

const SHAPES: Record<Category, Shape[]> = {
  sneaker: ["sneaker"],
  camera: ["camera"],
  lego: ["box"],
  other: ["box", "device"],
};

export type Scene = {
  id: number;
  category: Category;
  shape: Shape;
  /** The item whose name is printed on it; null for the items without text. */
  item: Item | null;
  lines: string[];
  font: FontStyle;
  /** Font size in px in the 1024 px frame (drawn 18-60 px at 1000 px width; shrunk only when it cannot fit the label area). */
  fontSize: number;
  polarity: Polarity;
  body: Swatch;
  ink: string;
  /** Degrees, the label's rotation. */
  rotation: number;
  backdrop: Backdrop;
  backdropColour: string;
  shadow: boolean;
  /** Gaussian blur sigma in px; 0 for none. */
  blur: number;
  jpegQuality: number;
  /** Seed for the SVG textures. */
  textureSeed: number;
};

export function drawScenes(random: Random, items: Item[], options: { withText: number; withoutText: number }): Scene[] {
  const categories: Category[] = ["sneaker", "lego", "camera", "other"];
  const pools = new Map<Category, Item[]>(categories.map((c) => [c, random.shuffle(poolFor(c, items))]));
  const scenes: Scene[] = [];
  for (let i = 0; i < options.withText + options.withoutText; i++) {
    const withText = i < options.withText;
    const category = categories[i % categories.length]!;
    const pool = pools.get(category)!;
    const item = withText ? pool[Math.floor(i / categories.length) % pool.length]! : null;
    scenes.push(drawScene(random, i, category, item));
  }
  return scenes;
}

/**
 * The items photographed under a category. "other" is the catalogue's other
 * collectibles and, a quarter of the time, an item of another category filed
 * under "other" by its owner.
 */
function poolFor(category: Category, items: Item[]): Item[] {
  if (category !== "other") return items.filter((item) => item.category === category);
  const others = items.filter((item) => item.category === "other");
  const rest = items.filter((item) => item.category !== "other");
  if (others.length === 0) return rest;
  // Every third entry from the rest, about a quarter of the pool.
  return [...others, ...rest.filter((_, index) => index % Math.max(1, Math.round((3 * rest.length) / others.length)) === 0)];
}

function drawScene(random: Random, id: number, category: Category, item: Item | null): Scene {
  const polarity = random.pick(Object.keys(BODIES) as Polarity[]);
  const body = random.pick(BODIES[polarity]);
  let backdropColour = random.pick(BACKDROP_COLOURS);
  while (rgbDistance(backdropColour, body.hex) < MIN_BACKDROP_CONTRAST) backdropColour = random.pick(BACKDROP_COLOURS);
  const backdrop = random.pick<Backdrop>(["plain", "plain", "noise", "stripes", "paper"]);
  const blur = random.range(0, 1);
  return {
    id,
    category,
    shape: random.pick(SHAPES[category]),
    item,
    lines: item === null ? [] : labelLines(random, item),
    font: random.pick(FONTS),
    fontSize: Math.round(random.range(18, 60) * SIZE_SCALE),
    polarity,
    body,
    ink: random.pick(INK[polarity]),
    rotation: Math.round(random.range(-15, 15) * 10) / 10,
    backdrop,
    backdropColour,
    shadow: random.chance(0.5),
    blur: blur < 0.3 ? 0 : Math.round(blur * 100) / 100, // sharp blurs from sigma 0.3 up
    jpegQuality: random.int(60, 95),
    textureSeed: random.int(1, 10_000),
  };
}

/** What is printed: brand and model on one line or two; a LEGO box's number with the brand, the set's name under it. */
function labelLines(random: Random, item: Item): string[] {
  if (item.set !== undefined) return random.chance(0.5) ? [`${item.brand} ${item.set}`, item.model] : [item.brand, `${item.set} ${item.model}`];
  return random.chance(0.5) ? [`${item.brand} ${item.model}`] : [item.brand, item.model];
}

function rgbDistance(a: string, b: string): number {
  const [ra, ga, ba] = rgbOf(a);
  const [rb, gb, bb] = rgbOf(b);
  return Math.hypot(ra - rb, ga - gb, ba - bb);
}

export function rgbOf(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}
