/** @pipeline/vision: the offline image work (background removal, OCR, the local analyzer), free of queues and databases. */

export { loadCatalogue } from "./analyzer/catalogue.ts";
export { CatalogueFileError } from "./analyzer/catalogue-file.ts";
export { LocalAnalyzer } from "./analyzer/index.ts";
export { LocalBackgroundRemover } from "./background/index.ts";
export { flattenOnWhite, pixelsEncodedAs } from "./image.ts";
