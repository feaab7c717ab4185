/**
 * Renders a scene with sharp from SVG (librsvg: fonts through fontconfig,
 * textures with feTurbulence, the contact shadow with feGaussianBlur), then
 * blurs and JPEG-encodes it; and renders the object's silhouette alone as the
 * truth mask for the background remover.
 */
import sharp from "sharp";
import { FRAME, type Scene, type Shape } from "./scenes.ts";

type Box = { x: number; y: number; w: number; h: number };
/** A region in the shape's unit box (0..1 each way). */
type UnitRegion = { u0: number; v0: number; u1: number; v1: number };

type ShapeGeometry = {
  /** Height over width of the shape's box. */
  aspect: number;
  /** Where a label may be printed. */
  labels: UnitRegion[];
  /** SVG of the object, body in `fill`; `details` false gives the silhouette alone (the mask). */
  draw(box: Box, fill: string, details: boolean): string;
};

const path = (box: Box, points: [number, number][]) =>
  points.map(([u, v], i) => `${i === 0 ? "M" : "L"}${(box.x + u * box.w).toFixed(1)} ${(box.y + v * box.h).toFixed(1)}`).join(" ") + " Z";

const GEOMETRY: Record<Shape, ShapeGeometry> = {
  sneaker: {
    aspect: 0.44,
    labels: [{ u0: 0.17, v0: 0.55, u1: 0.8, v1: 0.84 }],
    draw(box, fill, details) {
      const p = (u: number, v: number) => `${(box.x + u * box.w).toFixed(1)} ${(box.y + v * box.h).toFixed(1)}`;
      const upper =
        `M${p(0, 0.86)} L${p(0.028, 0.44)} Q${p(0.139, 0.375)} ${p(0.25, 0.19)} L${p(0.417, 0)} Q${p(0.486, -0.03)} ${p(0.514, 0.125)} ` +
        `Q${p(0.597, 0.44)} ${p(0.764, 0.5)} Q${p(0.986, 0.56)} ${p(1, 0.81)} L${p(0.99, 0.9)} L${p(0.01, 0.9)} Z`;
      const sole = `<rect x="${box.x - 0.005 * box.w}" y="${box.y + 0.86 * box.h}" width="${1.01 * box.w}" height="${0.14 * box.h}" rx="${0.03 * box.h}"`;
      if (!details) return `<path d="${upper}" fill="${fill}"/>${sole} fill="${fill}"/>`;
      const laces = [0.3, 0.36, 0.42]
        .map((u) => `<line x1="${box.x + u * box.w}" y1="${box.y + (0.5 - u) * box.h}" x2="${box.x + (u + 0.1) * box.w}" y2="${box.y + (0.62 - u) * box.h}"/>`)
        .join("");
      return (
        `<path d="${upper}" fill="${fill}"/>${sole} fill="#f4f4f0"/>` +
        `<g stroke="#161616" stroke-width="${Math.max(3, 0.012 * box.w)}" stroke-linecap="round">${laces}</g>`
      );
    },
  },
  camera: {
    aspect: 0.62,
    // A band above the lens, or the column left of it.
    labels: [
      { u0: 0.05, v0: 0.21, u1: 0.95, v1: 0.39 },
      { u0: 0.04, v0: 0.42, u1: 0.43, v1: 0.95 },
    ],
    draw(box, fill, details) {
      const body = `<rect x="${box.x}" y="${box.y + 0.15 * box.h}" width="${box.w}" height="${0.85 * box.h}" rx="${0.05 * box.w}" fill="${fill}"/>`;
      const hump = `<path d="${path(box, [
        [0.33, 0.17],
        [0.38, 0],
        [0.58, 0],
        [0.63, 0.17],
      ])}" fill="${fill}"/>`;
      if (!details) return body + hump;
      const cx = box.x + 0.66 * box.w;
      const cy = box.y + 0.68 * box.h;
      const r = 0.26 * box.h;
      return (
        body +
        hump +
        `<circle cx="${cx}" cy="${cy}" r="${r}" fill="#4a4a4a"/><circle cx="${cx}" cy="${cy}" r="${0.8 * r}" fill="#262626"/>` +
        `<circle cx="${cx}" cy="${cy}" r="${0.55 * r}" fill="#0c0c12"/><circle cx="${cx - 0.2 * r}" cy="${cy - 0.2 * r}" r="${0.12 * r}" fill="#3a4660"/>`
      );
    },
  },
  box: {
    aspect: 0.72,
    labels: [{ u0: 0.06, v0: 0.17, u1: 0.94, v1: 0.93 }],
    draw(box, fill, details) {
      const front = `<rect x="${box.x}" y="${box.y + 0.1 * box.h}" width="${0.94 * box.w}" height="${0.9 * box.h}" fill="${fill}"/>`;
      const faces = `<path d="${path(box, TOP_FACE)}" fill="${fill}"/><path d="${path(box, SIDE_FACE)}" fill="${fill}"/>`;
      return details ? faces + shadeFaces(box) + front : faces + front;
    },
  },
  device: {
    aspect: 0.6,
    labels: [{ u0: 0.06, v0: 0.66, u1: 0.94, v1: 0.95 }],
    draw(box, fill, details) {
      const body = `<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" rx="${0.08 * box.h}" fill="${fill}"/>`;
      if (!details) return body;
      return (
        body +
        `<rect x="${box.x + 0.3 * box.w}" y="${box.y + 0.1 * box.h}" width="${0.4 * box.w}" height="${0.48 * box.h}" rx="${0.02 * box.h}" fill="#3c4a3c"/>` +
        `<circle cx="${box.x + 0.14 * box.w}" cy="${box.y + 0.34 * box.h}" r="${0.07 * box.h}" fill="#2b2b2b"/>` +
        `<circle cx="${box.x + 0.86 * box.w}" cy="${box.y + 0.34 * box.h}" r="${0.07 * box.h}" fill="#8b1a3a"/>`
      );
    },
  },
};

const TOP_FACE: [number, number][] = [
  [0, 0.1],
  [0.06, 0],
  [1, 0],
  [0.94, 0.1],
];
const SIDE_FACE: [number, number][] = [
  [0.94, 0.1],
  [1, 0],
  [1, 0.9],
  [0.94, 1],
];

/** The box's top and side faces, shaded a little lighter and darker than the front. */
function shadeFaces(box: Box): string {
  return `<path d="${path(box, TOP_FACE)}" fill="#ffffff" fill-opacity="0.18"/><path d="${path(box, SIDE_FACE)}" fill="#000000" fill-opacity="0.22"/>`;
}

export type Rendered = {
  jpeg: Uint8Array;
  /** 255 on the object, 0 elsewhere, one byte per pixel of the frame. */
  mask: Uint8Array;
  /** The font size finally used (px, in the frame), after fitting the label to the item. */
  fontSize: number;
  layout: string;
};

export async function renderScene(scene: Scene): Promise<Rendered> {
  const geometry = GEOMETRY[scene.shape];
  const placed = await placeObject(scene, geometry);
  const { box, label } = placed;
  const defs: string[] = [];
  const parts: string[] = [backdropSvg(scene, defs)];
  if (scene.shadow) {
    defs.push(`<filter id="shadow" x="-50%" y="-200%" width="200%" height="500%"><feGaussianBlur stdDeviation="${(0.025 * box.w).toFixed(1)}"/></filter>`);
    const ry = Math.max(8, 0.05 * box.h);
    parts.push(
      `<ellipse cx="${box.x + 0.5 * box.w}" cy="${box.y + box.h - 0.3 * ry}" rx="${0.52 * box.w}" ry="${ry}" fill="#000" fill-opacity="0.55" filter="url(#shadow)"/>`,
    );
  }
  parts.push(geometry.draw(box, scene.body.hex, true));
  if (label !== null) parts.push(label.svg);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${FRAME.width}" height="${FRAME.height}"><defs>${defs.join("")}</defs>${parts.join("")}</svg>`;
  let image = sharp(Buffer.from(svg)).flatten({ background: "#ffffff" });
  if (scene.blur > 0) image = image.blur(scene.blur);
  const jpeg = new Uint8Array(await image.jpeg({ quality: scene.jpegQuality }).toBuffer());

  const maskSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="${FRAME.width}" height="${FRAME.height}"><rect width="100%" height="100%" fill="#000"/>${geometry.draw(box, "#fff", false)}</svg>`;
  const mask = new Uint8Array(await sharp(Buffer.from(maskSvg)).greyscale().raw().toBuffer());
  return { jpeg, mask, fontSize: label?.fontSize ?? 0, layout: label?.layout ?? "" };
}

// ---------------------------------------------------------------------------
// Placement: the object is scaled so its label area holds the label at the
// drawn size (rotation included); when even the largest object cannot, the
// lines are split or the font shrunk.

type Label = { svg: string; fontSize: number; layout: string };

const MAX_OBJECT_WIDTH = 0.92 * FRAME.width;
const MAX_OBJECT_HEIGHT = 0.86 * FRAME.height;

async function placeObject(scene: Scene, geometry: ShapeGeometry): Promise<{ box: Box; label: Label | null }> {
  const minWidth = (0.5 + 0.3 * ((scene.textureSeed % 97) / 97)) * FRAME.width;
  const maxWidth = Math.min(MAX_OBJECT_WIDTH, MAX_OBJECT_HEIGHT / geometry.aspect);
  let width = Math.min(minWidth, maxWidth);
  let label: Label | null = null;
  let region = geometry.labels[0]!;
  if (scene.lines.length > 0) {
    const fitted = await fitLabel(scene, geometry, maxWidth);
    width = Math.max(width, fitted.width);
    region = fitted.region;
    label = { svg: "", fontSize: fitted.fontSize, layout: fitted.lines.length > 1 ? `${fitted.lines.length} lines` : "1 line" };
    const box = positionBox(scene, width, geometry.aspect);
    label.svg = labelSvg(scene, fitted, box, region);
    return { box, label };
  }
  return { box: positionBox(scene, width, geometry.aspect), label };
}

/** Where the box goes: anywhere that keeps it (and its shadow) in the frame, from the scene's seed. */
function positionBox(scene: Scene, width: number, aspect: number): Box {
  const h = width * aspect;
  const slackX = FRAME.width - width - 40;
  const slackY = FRAME.height - h - 50;
  const fx = ((scene.textureSeed * 7919) % 1000) / 1000;
  const fy = ((scene.textureSeed * 104729) % 1000) / 1000;
  return { x: 20 + fx * Math.max(0, slackX), y: 20 + fy * Math.max(0, slackY), w: width, h };
}

type Fitted = { width: number; fontSize: number; lines: string[]; region: UnitRegion; ink: InkBox };

async function fitLabel(scene: Scene, geometry: ShapeGeometry, maxWidth: number): Promise<Fitted> {
  const layouts = scene.lines.length === 1 && scene.lines[0]!.includes(" ") ? [scene.lines, splitInTwo(scene.lines[0]!)] : [scene.lines];
  const theta = (Math.abs(scene.rotation) * Math.PI) / 180;
  for (let fontSize = scene.fontSize; ; fontSize = Math.max(1, Math.floor(fontSize * 0.92))) {
    for (const lines of layouts) {
      const ink = await measureInk(lines, scene, fontSize);
      const rotatedW = ink.w * Math.cos(theta) + ink.h * Math.sin(theta);
      const rotatedH = ink.w * Math.sin(theta) + ink.h * Math.cos(theta);
      for (const region of geometry.labels) {
        // Width of the object that makes the region hold the label with a margin.
        const needW = (1.08 * rotatedW) / (region.u1 - region.u0);
        const needH = (1.12 * rotatedH) / (region.v1 - region.v0) / geometry.aspect;
        const width = Math.max(needW, needH);
        if (width <= maxWidth) return { width, fontSize, lines, region, ink };
      }
    }
    if (fontSize <= 8) throw new Error(`scene ${scene.id}: label does not fit`);
  }
}

function splitInTwo(line: string): string[] {
  const words = line.split(" ");
  let best = [line];
  let bestWidth = Number.POSITIVE_INFINITY;
  for (let i = 1; i < words.length; i++) {
    const parts = [words.slice(0, i).join(" "), words.slice(i).join(" ")];
    const width = Math.max(...parts.map((p) => p.length));
    if (width < bestWidth) [best, bestWidth] = [parts, width];
  }
  return best;
}

/** The inked box of the lines rendered at the origin (baseline of line 1 at y = 0, centred on x = 0). */
type InkBox = { x: number; y: number; w: number; h: number };

const LINE_GAP = 1.25;

function textElements(lines: string[], scene: Scene, fontSize: number, fill: string): string {
  const font = `font-family="${scene.font.family}" font-weight="${scene.font.weight}" font-size="${fontSize}" text-anchor="middle" fill="${fill}"`;
  return lines.map((line, i) => `<text x="0" y="${(i * LINE_GAP * fontSize).toFixed(1)}" ${font}>${escapeXml(line)}</text>`).join("");
}

async function measureInk(lines: string[], scene: Scene, fontSize: number): Promise<InkBox> {
  const width = Math.ceil(fontSize * 0.75 * Math.max(...lines.map((l) => l.length)) + 4 * fontSize);
  const height = Math.ceil(fontSize * (LINE_GAP * lines.length + 1));
  const ox = width / 2;
  const oy = fontSize * 1.1;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fff"/><g transform="translate(${ox} ${oy})">${textElements(lines, scene, fontSize, "#000")}</g></svg>`;
  const grey = await sharp(Buffer.from(svg)).greyscale().raw().toBuffer();
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (grey[y * width + x]! < 128) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) throw new Error(`scene ${scene.id}: the label renders no ink (font missing?)`);
  if (x0 === 0 || x1 === width - 1) throw new Error(`scene ${scene.id}: measuring canvas too small`);
  return { x: x0 - ox, y: y0 - oy, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/** The label rotated about its ink's centre, placed at a seeded spot of the region where it fits. */
function labelSvg(scene: Scene, fitted: Fitted, box: Box, region: UnitRegion): string {
  const theta = (Math.abs(scene.rotation) * Math.PI) / 180;
  const { ink } = fitted;
  const rotatedW = ink.w * Math.cos(theta) + ink.h * Math.sin(theta);
  const rotatedH = ink.w * Math.sin(theta) + ink.h * Math.cos(theta);
  const rx0 = box.x + region.u0 * box.w + rotatedW / 2;
  const rx1 = box.x + region.u1 * box.w - rotatedW / 2;
  const ry0 = box.y + region.v0 * box.h + rotatedH / 2;
  const ry1 = box.y + region.v1 * box.h - rotatedH / 2;
  const fx = ((scene.textureSeed * 31) % 100) / 100;
  const fy = ((scene.textureSeed * 17) % 100) / 100;
  const cx = rx0 + fx * Math.max(0, rx1 - rx0);
  const cy = ry0 + fy * Math.max(0, ry1 - ry0);
  const inkCx = ink.x + ink.w / 2;
  const inkCy = ink.y + ink.h / 2;
  return (
    `<g transform="translate(${cx.toFixed(1)} ${cy.toFixed(1)}) rotate(${scene.rotation}) translate(${(-inkCx).toFixed(1)} ${(-inkCy).toFixed(1)})">` +
    textElements(fitted.lines, scene, fitted.fontSize, scene.ink) +
    `</g>`
  );
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

// ---------------------------------------------------------------------------
// Backdrops

function backdropSvg(scene: Scene, defs: string[]): string {
  const base = `<rect width="100%" height="100%" fill="${scene.backdropColour}"/>`;
  const seed = scene.textureSeed;
  const grey = `<feColorMatrix type="matrix" values="0.33 0.33 0.33 0 0 0.33 0.33 0.33 0 0 0.33 0.33 0.33 0 0 0 0 0 0 1"/>`;
  switch (scene.backdrop) {
    case "plain":
      return base;
    case "noise": {
      const frequency = 0.5 + (seed % 40) / 100;
      defs.push(
        `<filter id="noise" x="0" y="0" width="100%" height="100%"><feTurbulence type="fractalNoise" baseFrequency="${frequency}" numOctaves="2" seed="${seed}"/>${grey}</filter>`,
      );
      return `${base}<rect width="100%" height="100%" filter="url(#noise)" opacity="${(0.18 + (seed % 10) / 100).toFixed(2)}"/>`;
    }
    case "stripes": {
      const period = 8 + (seed % 24);
      const angle = (seed % 4) * 45;
      const tone = (seed >> 3) % 2 === 0 ? "#000000" : "#ffffff";
      defs.push(
        `<pattern id="stripes" width="${period}" height="${period}" patternUnits="userSpaceOnUse" patternTransform="rotate(${angle})">` +
          `<rect width="${period / 2}" height="${period}" fill="${tone}" fill-opacity="${(0.06 + (seed % 7) / 100).toFixed(2)}"/></pattern>`,
      );
      return `${base}<rect width="100%" height="100%" fill="url(#stripes)"/>`;
    }
    case "paper": {
      defs.push(
        `<filter id="blotches" x="0" y="0" width="100%" height="100%"><feTurbulence type="fractalNoise" baseFrequency="${0.01 + (seed % 3) / 100}" numOctaves="3" seed="${seed}"/>${grey}</filter>` +
          `<filter id="grain" x="0" y="0" width="100%" height="100%"><feTurbulence type="fractalNoise" baseFrequency="0.9" numOctaves="1" seed="${seed + 1}"/>${grey}</filter>`,
      );
      return `${base}<rect width="100%" height="100%" filter="url(#blotches)" opacity="0.22"/><rect width="100%" height="100%" filter="url(#grain)" opacity="0.1"/>`;
    }
  }
}
