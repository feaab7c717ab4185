/** Metadata from OCR and the catalogue on this machine, by @pipeline/vision on the vision threads. */
import type { ExtractedMetadata, MetadataSource } from "@pipeline/contracts/asset";
import type { AnalysisInput, MetadataAnalyzer } from "../providers.ts";
import type { VisionPool } from "../vision/pool.ts";

export class LocalAnalyzer implements MetadataAnalyzer {
  readonly name = "local";
  readonly source: MetadataSource = { analyzer: "local", calibrated: true };

  constructor(private readonly pool: Pick<VisionPool, "analyze">) {}

  analyze({ signal, ...input }: AnalysisInput): Promise<ExtractedMetadata> {
    return this.pool.analyze(input, signal);
  }
}
