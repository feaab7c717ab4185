/** Metadata from OCR and the catalogue on this machine, by @pipeline/vision. */
import type { ExtractedMetadata, MetadataSource } from "@pipeline/contracts/asset";
import { analyzeImage, type Catalogue, closeOcr } from "@pipeline/vision";
import type { AnalysisInput, MetadataAnalyzer } from "../providers.ts";

export class LocalAnalyzer implements MetadataAnalyzer {
  readonly name = "local";
  readonly source: MetadataSource = { analyzer: "local", calibrated: true };

  constructor(private readonly catalogue: Catalogue) {}

  analyze({ signal, ...input }: AnalysisInput): Promise<ExtractedMetadata> {
    return analyzeImage(input, { catalogue: this.catalogue, signal });
  }

  /** Stops the OCR worker (shutdown). */
  close(): Promise<void> {
    return closeOcr();
  }
}
