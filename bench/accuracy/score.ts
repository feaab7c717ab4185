/** Scoring of one run: per-image outcomes, then summaries per group, calibration per confidence decile, timing. */
import type { Detection } from "@pipeline/contracts/asset";
import { summarize } from "../lib/load.ts";
import { type Scene, SIZE_SCALE } from "./scenes.ts";

export type Outcome = {
  id: number;
  category: string;
  shape: string;
  polarity: string;
  font: string;
  /** Font size in px at 1000 px width, as the issue states sizes. */
  textSize: number;
  layout: string;
  rotation: number;
  blur: number;
  jpegQuality: number;
  backdrop: string;
  shadow: boolean;
  truth: { brand: string | null; model: string | null; set: string | null; colour: string };
  predicted: { brand: Detection; model: Detection; colorway: Detection };
  /** Null on items without text. */
  brandRight: boolean | null;
  modelRight: boolean | null;
  /** Items without text: a brand was named at all. */
  falseBrand: boolean | null;
  colourRight: boolean;
  iou: number;
  ms: number;
  cpuMs: number;
};

export function outcomeOf(
  scene: Scene,
  rendered: { fontSize: number; layout: string },
  predicted: Outcome["predicted"],
  measures: { iou: number; ms: number; cpuMs: number },
): Outcome {
  const item = scene.item;
  const firstColour = predicted.colorway.value?.split("/")[0] ?? null;
  return {
    id: scene.id,
    category: scene.category,
    shape: scene.shape,
    polarity: scene.polarity,
    font: scene.font.label,
    textSize: Math.round((rendered.fontSize / SIZE_SCALE) * 10) / 10,
    layout: rendered.layout,
    rotation: scene.rotation,
    blur: scene.blur,
    jpegQuality: scene.jpegQuality,
    backdrop: scene.backdrop,
    shadow: scene.shadow,
    truth: { brand: item?.brand ?? null, model: item?.model ?? null, set: item?.set ?? null, colour: scene.body.name },
    predicted,
    brandRight: item === null ? null : same(predicted.brand.value, item.brand),
    modelRight: item === null ? null : modelMatches(predicted.model.value, item.model, item.set),
    falseBrand: item === null ? predicted.brand.value !== null : null,
    colourRight: firstColour === scene.body.name,
    iou: Math.round(measures.iou * 10000) / 10000,
    ms: Math.round(measures.ms * 10) / 10,
    cpuMs: Math.round(measures.cpuMs * 10) / 10,
  };
}

function same(a: string | null, b: string): boolean {
  return a !== null && a.localeCompare(b, "en", { sensitivity: "base" }) === 0;
}

/** A LEGO model may come as "Name (set)": the name must match, and the number too when given. */
function modelMatches(value: string | null, model: string, set: string | undefined): boolean {
  if (value === null) return false;
  const withNumber = /^(.*) \((\d+)\)$/.exec(value);
  if (withNumber !== null && set !== undefined) return same(withNumber[1]!, model) && withNumber[2] === set;
  return same(value, model);
}

export type GroupSummary = {
  /** Items with text. */
  items: number;
  brand: number | null;
  model: number | null;
  /** Brand and model both right. */
  both: number | null;
  /** Items without text. */
  blank: number;
  /** Share of items without text given a brand. */
  falseBrand: number | null;
  firstColour: number | null;
  iouMean: number | null;
  iouMin: number | null;
  /** Share of images with IoU >= 0.9. */
  iouAtLeast90: number | null;
  /** Weighted mean gap between confidence and accuracy over the deciles (brand and model names). */
  calibrationGap: number | null;
  msP50: number | null;
  msP95: number | null;
  cpuMsP50: number | null;
  cpuMsP95: number | null;
};

const share = (flags: boolean[]) => (flags.length === 0 ? null : round(flags.filter(Boolean).length / flags.length));
const round = (n: number, digits = 4) => Math.round(n * 10 ** digits) / 10 ** digits;

export function summarizeGroup(outcomes: Outcome[]): GroupSummary {
  const withText = outcomes.filter((o) => o.truth.brand !== null);
  const blank = outcomes.filter((o) => o.truth.brand === null);
  const ious = outcomes.map((o) => o.iou);
  const ms = summarize(outcomes.map((o) => o.ms));
  const cpu = summarize(outcomes.map((o) => o.cpuMs));
  return {
    items: withText.length,
    brand: share(withText.map((o) => o.brandRight === true)),
    model: share(withText.map((o) => o.modelRight === true)),
    both: share(withText.map((o) => o.brandRight === true && o.modelRight === true)),
    blank: blank.length,
    falseBrand: share(blank.map((o) => o.falseBrand === true)),
    firstColour: share(outcomes.map((o) => o.colourRight)),
    iouMean: ious.length ? round(ious.reduce((a, b) => a + b, 0) / ious.length) : null,
    iouMin: ious.length ? round(Math.min(...ious)) : null,
    iouAtLeast90: share(ious.map((v) => v >= 0.9)),
    calibrationGap: calibration(outcomes, ["brand", "model"]).meanGap,
    msP50: outcomes.length ? ms.p50 : null,
    msP95: outcomes.length ? ms.p95 : null,
    cpuMsP50: outcomes.length ? cpu.p50 : null,
    cpuMsP95: outcomes.length ? cpu.p95 : null,
  };
}

export function groupBy(outcomes: Outcome[], key: (o: Outcome) => string): Record<string, GroupSummary> {
  const groups = new Map<string, Outcome[]>();
  for (const o of outcomes) groups.set(key(o), [...(groups.get(key(o)) ?? []), o]);
  return Object.fromEntries([...groups].sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true })).map(([k, v]) => [k, summarizeGroup(v)]));
}

export type Decile = { decile: string; n: number; meanConfidence: number; accuracy: number; gap: number };
export type Calibration = {
  deciles: Decile[];
  /** Mean of the deciles' |confidence - accuracy|, weighted by their predictions (expected calibration error). */
  meanGap: number | null;
  /** The largest gap among deciles holding at least MIN_DECILE predictions. */
  maxGap: number | null;
};
const MIN_DECILE = 5;

/**
 * How well confidence tracks being right, over every value the analyzer
 * named (brand and model; an empty answer claims nothing): per decile of
 * confidence, the mean confidence against the share that was right. A brand
 * named on an item without text is a wrong answer.
 */
export function calibration(outcomes: Outcome[], fields: ("brand" | "model" | "colorway")[]): Calibration {
  const claims: { confidence: number; right: boolean }[] = [];
  for (const o of outcomes) {
    for (const field of fields) {
      const d = o.predicted[field];
      if (d.value === null) continue;
      const right = field === "brand" ? o.brandRight === true : field === "model" ? o.modelRight === true : o.colourRight;
      claims.push({ confidence: d.confidence, right });
    }
  }
  const deciles: Decile[] = [];
  for (let b = 0; b < 10; b++) {
    const inBin = claims.filter((c) => Math.min(9, Math.floor(c.confidence * 10)) === b);
    if (inBin.length === 0) continue;
    const meanConfidence = inBin.reduce((s, c) => s + c.confidence, 0) / inBin.length;
    const accuracy = inBin.filter((c) => c.right).length / inBin.length;
    deciles.push({
      decile: `${(b / 10).toFixed(1)}-${((b + 1) / 10).toFixed(1)}`,
      n: inBin.length,
      meanConfidence: round(meanConfidence),
      accuracy: round(accuracy),
      gap: round(Math.abs(meanConfidence - accuracy)),
    });
  }
  const total = deciles.reduce((s, d) => s + d.n, 0);
  const populated = deciles.filter((d) => d.n >= MIN_DECILE);
  return {
    deciles,
    meanGap: total === 0 ? null : round(deciles.reduce((s, d) => s + d.gap * d.n, 0) / total),
    maxGap: populated.length === 0 ? null : Math.max(...populated.map((d) => d.gap)),
  };
}

export type RunSummary = {
  overall: GroupSummary;
  perCategory: Record<string, GroupSummary>;
  byPolarity: Record<string, GroupSummary>;
  byFont: Record<string, GroupSummary>;
  byTextSize: Record<string, GroupSummary>;
  byRotation: Record<string, GroupSummary>;
  byBackdrop: Record<string, GroupSummary>;
  byShadow: Record<string, GroupSummary>;
  calibration: { brandAndModel: Calibration; brand: Calibration; model: Calibration; colorway: Calibration };
};

export function summarizeRun(outcomes: Outcome[]): RunSummary {
  const withText = outcomes.filter((o) => o.truth.brand !== null);
  return {
    overall: summarizeGroup(outcomes),
    perCategory: groupBy(outcomes, (o) => o.category),
    byPolarity: groupBy(outcomes, (o) => o.polarity),
    byFont: groupBy(withText, (o) => o.font),
    byTextSize: groupBy(withText, (o) => (o.textSize < 25 ? "18-25 px" : o.textSize < 35 ? "25-35 px" : o.textSize < 45 ? "35-45 px" : "45-60 px")),
    byRotation: groupBy(withText, (o) => (Math.abs(o.rotation) < 5 ? "|angle| < 5" : Math.abs(o.rotation) < 10 ? "|angle| 5-10" : "|angle| 10-15")),
    byBackdrop: groupBy(outcomes, (o) => o.backdrop),
    byShadow: groupBy(outcomes, (o) => (o.shadow ? "shadow" : "no shadow")),
    calibration: {
      brandAndModel: calibration(outcomes, ["brand", "model"]),
      brand: calibration(outcomes, ["brand"]),
      model: calibration(outcomes, ["model"]),
      colorway: calibration(outcomes, ["colorway"]),
    },
  };
}
