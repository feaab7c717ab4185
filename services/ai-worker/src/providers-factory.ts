/** Picks each stage's provider from configuration (BACKGROUND_REMOVAL, ANALYZER). */
import { ConfigError } from "@pipeline/runtime/config";
import { LocalAnalyzer } from "./analyzer/local/index.ts";
import { OpenAiAnalyzer } from "./analyzer/openai.ts";
import { CloudinaryBackgroundRemover } from "./background/cloudinary.ts";
import { LocalBackgroundRemover } from "./background/local/index.ts";
import type { WorkerConfig } from "./config.ts";
import type { BackgroundRemover, MetadataAnalyzer } from "./providers.ts";

export function createBackgroundRemover(config: WorkerConfig): BackgroundRemover {
  switch (config.BACKGROUND_REMOVAL) {
    case "local":
      return new LocalBackgroundRemover();
    case "cloudinary":
      // The add-on transforms the original where Cloudinary stores it.
      if (config.STORAGE !== "cloudinary") throw new ConfigError("invalid configuration: BACKGROUND_REMOVAL: cloudinary needs STORAGE=cloudinary");
      return new CloudinaryBackgroundRemover();
  }
}

export function createAnalyzer(config: WorkerConfig): MetadataAnalyzer {
  switch (config.ANALYZER) {
    case "local":
      return new LocalAnalyzer();
    case "openai":
      return new OpenAiAnalyzer(config);
  }
}
