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
import { type Category, type ExtractedMetadata, finaliseDetection as finalise, type MetadataSource } from "@pipeline/contracts/asset";
import { decodeImage, type RgbaImage } from "../image.ts";
import { type Catalogue, type CatalogueMatch, catalogue, matchCatalogue } from "./catalogue.ts";
import { detectColorway } from "./colorway.ts";
import { closeOcr, OCR_MAX_SIDE, readText } from "./ocr.ts";

/** A model this sure from the cutout is not worth a second OCR pass on the original. */
const CONFIDENT_MODEL = 0.85;

export interface AnalysisInput {
  original: Uint8Array;
  /** PNG with alpha from the background remover. */
  cutout: Uint8Array;
  /** The remover's confidence in `cutout`, when it gave one: colours read from a doubtful cut-out are doubtful too. */
  cutoutConfidence?: number;
  category: Category;
  signal: AbortSignal;
}

export class LocalAnalyzer {
  readonly name = "local";
  readonly source: MetadataSource = { analyzer: "local", calibrated: true };

  constructor(private readonly index: Catalogue = catalogue()) {}

  async analyze({ original, cutout, category, signal, cutoutConfidence }: AnalysisInput): Promise<ExtractedMetadata> {
    signal.throwIfAborted();
    const item = await decodeImage(cutout, OCR_MAX_SIDE);
    const colorway = detectColorway(item, cutoutConfidence);

    // The cutout first: the backdrop is transparent, so only the item's text lines are found and read.
    let match = matchCatalogue(await readText(item, signal), category, this.index);
    // Then the rest of the photo, in case the remover cut away a label (a box, a tag next to the item):
    // only lines off the item are read, the item's own were read above.
    if (match.model.confidence < CONFIDENT_MODEL && hasTransparency(item)) {
      signal.throwIfAborted();
      const photo = await decodeImage(original, OCR_MAX_SIDE);
      if (photo.width === item.width && photo.height === item.height) {
        match = stronger(match, matchCatalogue(await readText(photo, signal, item), category, this.index));
      }
    }
    return { brand: finalise(match.brand), model: finalise(match.model), colorway: finalise(colorway) };
  }

  /** Stops the shared OCR worker (shutdown, tests). */
  close(): Promise<void> {
    return closeOcr();
  }
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
