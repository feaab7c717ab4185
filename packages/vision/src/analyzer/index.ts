/**
 * Offline metadata analyzer: colorway from the cutout's pixels, brand and
 * model from OCR text matched against the catalogue.
 *
 * Confidences (details in each module):
 * - colorway: share of the item's pixels in the named colours x how closely
 *   they match those colours (colorway.ts);
 * - brand/model: OCR word confidence x catalogue match quality, lowered when
 *   only one piece of evidence was read, then calibrated to the chance of
 *   being right on the evaluation set (catalogue.ts);
 * - `{value: null, confidence: 0}` when nothing was recognised.
 */
import { type Category, type ExtractedMetadata, finaliseDetection as finalise } from "@pipeline/contracts/asset";
import { decodeImage, type RgbaImage } from "../image.ts";
import { type StageTimer, untimed } from "../timing.ts";
import { type Catalogue, type CatalogueMatch, catalogue, matchCatalogue } from "./catalogue.ts";
import { detectColorway } from "./colorway.ts";
import { OCR_MAX_SIDE, readText } from "./ocr.ts";

/** A model this sure from the cutout is not worth a second OCR pass on the original. */
const CONFIDENT_MODEL = 0.85;

export interface AnalysisInput {
  /** The photo as uploaded (JPEG, PNG or WebP). */
  original: Uint8Array;
  /** PNG with alpha from the background remover. */
  cutout: Uint8Array;
  /** The remover's confidence in `cutout`, when it gave one: colours read from a doubtful cut-out are doubtful too. */
  cutoutConfidence?: number;
  category: Category;
}

export interface AnalysisOptions {
  /** Known brands and models (default: the shipped catalogue). */
  catalogue?: Catalogue;
  /** Checked between steps; an OCR call in flight is abandoned. Once aborted, the analysis stops with the signal's reason. */
  signal?: AbortSignal;
  time?: StageTimer;
}

/** Brand, model and colorway of the item, each `{value, confidence}`; `{value: null, confidence: 0}` when not recognised. */
export async function analyzeImage(
  { original, cutout, category, cutoutConfidence }: AnalysisInput,
  { catalogue: index = catalogue(), signal = new AbortController().signal, time = untimed }: AnalysisOptions = {},
): Promise<ExtractedMetadata> {
  signal.throwIfAborted();
  const item = await time("decode cutout", () => decodeImage(cutout, OCR_MAX_SIDE));
  const colorway = time("colorway", () => detectColorway(item, cutoutConfidence));

  // The cutout first: the backdrop is transparent, so only the item's text lines are found and read.
  const lines = await time("OCR", () => readText(item, signal));
  let match = time("catalogue match", () => matchCatalogue(lines, category, index));
  // Then the rest of the photo, in case the remover cut away a label (a box, a tag next to the item):
  // only lines off the item are read, the item's own were read above.
  if (match.model.confidence < CONFIDENT_MODEL && hasTransparency(item)) {
    signal.throwIfAborted();
    const photo = await time("decode original", () => decodeImage(original, OCR_MAX_SIDE));
    if (photo.width === item.width && photo.height === item.height) {
      const around = await time("OCR around the item", () => readText(photo, signal, item));
      match = stronger(
        match,
        time("catalogue match", () => matchCatalogue(around, category, index)),
      );
    }
  }
  return { brand: finalise(match.brand), model: finalise(match.model), colorway: finalise(colorway) };
}

/** Whether any pixel was removed; a cutout without any is the original again, not worth a second pass. */
function hasTransparency(img: RgbaImage): boolean {
  const data = img.data;
  for (let p = 3; p < data.length; p += 4) if (data[p]! < 255) return true;
  return false;
}

/** The match with the surer model (then brand); the pair is kept together so brand and model agree. */
function stronger(a: CatalogueMatch, b: CatalogueMatch): CatalogueMatch {
  if (a.model.confidence !== b.model.confidence) return a.model.confidence > b.model.confidence ? a : b;
  return a.brand.confidence >= b.brand.confidence ? a : b;
}
