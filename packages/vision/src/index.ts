/**
 * @pipeline/vision: the offline image work, with no queue, cache or database
 * in it. Background removal and the analyzer take bytes and return all they
 * know; OCR runs on a Tesseract worker per thread that uses this package.
 */

export { type Catalogue, loadCatalogue, shippedRecords } from "./analyzer/catalogue.ts";
export { CatalogueFileError } from "./analyzer/catalogue-file.ts";
export { type AnalysisInput, type AnalysisOptions, analyzeImage } from "./analyzer/index.ts";
export { closeOcr } from "./analyzer/ocr.ts";
export { type Cutout, FALLBACK_CONFIDENCE, type RemovalOptions, removeBackground, UNSURE } from "./background/index.ts";
export { decodeImage, encodePng, type RgbaImage, UnreadableImageError } from "./image.ts";
export type { StageTimer } from "./timing.ts";
