/** The two AI stages the worker runs, each with a local and a hosted implementation. */
import type { Category, ExtractedMetadata, MetadataSource } from "@pipeline/contracts/asset";

export interface BackgroundRemovalInput {
  /** The original image's bytes (JPEG, PNG or WebP). */
  original: Uint8Array;
  /** Where the original is stored (hosted removers transform it by URL). */
  originalUrl: string;
  signal: AbortSignal;
}

export interface BackgroundRemover {
  readonly name: string;
  /** Returns a PNG with an alpha channel: the item kept, the background transparent. */
  remove(input: BackgroundRemovalInput): Promise<Uint8Array>;
  /**
   * How sure the remover is of a cut-out it returned, 0..1 (below 0.5 it is a
   * guess); undefined when it cannot say (hosted removers, bytes it did not make).
   */
  confidenceOf?(cutout: Uint8Array): number | undefined;
  /**
   * Where the storage already delivers a cut-out this remover returned (a
   * hosted remover's derived image), so it need not be stored again;
   * undefined when it must be saved.
   */
  storedUrlOf?(cutout: Uint8Array): string | undefined;
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
  /** Releases long-lived resources (an OCR worker, say) at shutdown. */
  close?(): Promise<void>;
}
