/** The two AI stages the worker runs, each with a local and a hosted implementation. */
import type { Category, ExtractedMetadata, MetadataSource } from "@pipeline/contracts/asset";

export interface BackgroundRemovalInput {
  /** The original image's bytes (JPEG, PNG or WebP). */
  original: Uint8Array;
  /** Where the original is stored (hosted removers transform it by URL). */
  originalUrl: string;
  signal: AbortSignal;
}

/** A PNG with an alpha channel (the item kept, the background transparent), with what the remover knows of it. */
export interface Cutout {
  png: Uint8Array;
  /** How sure the remover is, 0..1 (below 0.5 it is a guess); absent when it cannot say (hosted removers). */
  confidence?: number;
  /** Where the storage already delivers it (a hosted remover's derived image), so it need not be stored again. */
  storedUrl?: string;
}

export interface BackgroundRemover {
  readonly name: string;
  remove(input: BackgroundRemovalInput): Promise<Cutout>;
}

export interface AnalysisInput {
  original: Uint8Array;
  /** PNG with alpha from the background remover. */
  cutout: Uint8Array;
  /** The remover's confidence in `cutout`, when it gave one: colours read from a doubtful cut-out are doubtful too. */
  cutoutConfidence?: number;
  category: Category;
  signal: AbortSignal;
}

export interface MetadataAnalyzer {
  readonly name: string;
  /** Recorded on each Asset it analyses: which analyzer (and model), and whether its confidences are calibrated. */
  readonly source: MetadataSource;
  /** Brand, model and colorway with honest confidences; `{value: null, confidence: 0}` when unknown. */
  analyze(input: AnalysisInput): Promise<ExtractedMetadata>;
}
