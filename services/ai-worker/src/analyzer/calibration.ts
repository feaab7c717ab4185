/**
 * Calibration maps for a hosted model: per attribute, bins of the model's
 * stated confidence with the share of its answers that were right on the
 * evaluation set. `bun bench/accuracy.ts --analyzer openai` writes one; the
 * worker loads it from AI_CALIBRATION_PATH and reports the observed accuracy
 * instead of the model's own words.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";

export const CALIBRATED_ATTRIBUTES = ["brand", "model", "colorway"] as const;
export type CalibratedAttribute = (typeof CALIBRATED_ATTRIBUTES)[number];

const binSchema = z
  .object({
    from: z.number().min(0).max(1),
    to: z.number().min(0).max(1),
    /** Answers the model gave with a confidence in [from, to). */
    n: z.number().int().min(0),
    /** Their share that was right, smoothed: (right + 1) / (n + 2), then made non-decreasing across bins. */
    accuracy: z.number().min(0).max(1),
  })
  .refine((bin) => bin.from < bin.to, "a bin's `from` must be below its `to`");

const binsSchema = z
  .array(binSchema)
  .min(1)
  .refine((bins) => bins.every((bin, i) => i === 0 || bin.from >= bins[i - 1]!.to), "bins must be sorted and must not overlap");

export const calibrationMapSchema = z.object({
  version: z.literal(1),
  /** The model it was measured on (AI_MODEL): a map is only true of that model. */
  model: z.string().min(1),
  measuredAt: z.iso.datetime(),
  evaluation: z.object({ seed: z.number().int(), images: z.number().int().positive() }),
  attributes: z.object({ brand: binsSchema, model: binsSchema, colorway: binsSchema }),
});
export type CalibrationMap = z.infer<typeof calibrationMapSchema>;

export class CalibrationFileError extends Error {
  override name = "CalibrationFileError";
}

/** Reads and checks a map; a map measured on another model is refused, since it says nothing of this one. */
export function loadCalibrationMap(path: string, model: string): CalibrationMap {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new CalibrationFileError(`${path} cannot be read: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CalibrationFileError(`${path} is not JSON: ${(error as Error).message}`);
  }
  const parsed = calibrationMapSchema.safeParse(json);
  if (!parsed.success) throw new CalibrationFileError(`${path} is not a calibration map: ${z.prettifyError(parsed.error).replace(/\n/g, " ")}`);
  if (parsed.data.model !== model) throw new CalibrationFileError(`${path} was measured on model ${parsed.data.model}, but AI_MODEL is ${model}`);
  return parsed.data;
}

/** The observed accuracy of answers given with `confidence`: its bin's, else the nearest bin's. */
export function calibrate(map: CalibrationMap, attribute: CalibratedAttribute, confidence: number): number {
  const bins = map.attributes[attribute];
  const last = bins.length - 1;
  const inside = bins.findIndex((bin, i) => confidence >= bin.from && (confidence < bin.to || (i === last && confidence <= bin.to)));
  if (inside !== -1) return bins[inside]!.accuracy;
  const distance = (bin: (typeof bins)[number]) => Math.min(Math.abs(confidence - bin.from), Math.abs(confidence - bin.to));
  return bins.reduce((best, bin) => (distance(bin) < distance(best) ? bin : best)).accuracy;
}

export interface Claim {
  attribute: CalibratedAttribute;
  /** The model's stated confidence. */
  confidence: number;
  right: boolean;
}

const BIN_WIDTH = 0.1;

/**
 * The map from claims on the evaluation set: tenth-wide bins of stated
 * confidence (empty ones left out), each bin's smoothed share right, pooled
 * where a higher bin came out lower (pool-adjacent-violators), so a surer
 * answer never reports a lower confidence. An attribute with no claims gets
 * one bin at 0.5: nothing is known of it.
 */
export function buildCalibrationMap(claims: Claim[], meta: Omit<CalibrationMap, "version" | "attributes">): CalibrationMap {
  const attributes = Object.fromEntries(CALIBRATED_ATTRIBUTES.map((attribute) => [attribute, binsOf(claims.filter((c) => c.attribute === attribute))]));
  return calibrationMapSchema.parse({ version: 1, ...meta, attributes });
}

function binsOf(claims: Claim[]): CalibrationMap["attributes"]["brand"] {
  const bins: { from: number; to: number; n: number; right: number }[] = [];
  for (let b = 0; b < 1 / BIN_WIDTH; b++) {
    const inBin = claims.filter((c) => Math.min(9, Math.floor(c.confidence / BIN_WIDTH)) === b);
    if (inBin.length) bins.push({ from: round(b * BIN_WIDTH), to: round((b + 1) * BIN_WIDTH), n: inBin.length, right: inBin.filter((c) => c.right).length });
  }
  if (bins.length === 0) return [{ from: 0, to: 1, n: 0, accuracy: 0.5 }];
  // Pool adjacent violators over the smoothed shares, weighted by n + 2.
  const blocks = bins.map((bin) => ({ weight: bin.n + 2, value: (bin.right + 1) / (bin.n + 2), count: 1 }));
  for (let i = 1; i < blocks.length; i++) {
    if (blocks[i - 1]!.value <= blocks[i]!.value) continue;
    const [a, b] = [blocks[i - 1]!, blocks[i]!];
    blocks.splice(i - 1, 2, {
      weight: a.weight + b.weight,
      value: (a.value * a.weight + b.value * b.weight) / (a.weight + b.weight),
      count: a.count + b.count,
    });
    i = Math.max(0, i - 2);
  }
  const values = blocks.flatMap((block) => Array<number>(block.count).fill(block.value));
  return bins.map((bin, i) => ({ from: bin.from, to: bin.to, n: bin.n, accuracy: round(values[i]!) }));
}

const round = (n: number) => Math.round(n * 10000) / 10000;
