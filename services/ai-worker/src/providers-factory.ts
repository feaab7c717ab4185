/** Picks each stage's provider from configuration (BACKGROUND_REMOVAL, ANALYZER); local ones share the vision threads. */
import { ConfigError } from "@pipeline/runtime/config";
import type { Logger } from "@pipeline/runtime/logger";
import { CloudinaryStorage, type ImageStorage } from "@pipeline/storage";
import { CatalogueFileError, loadCatalogue } from "@pipeline/vision";
import { CalibrationFileError, loadCalibrationMap } from "./analyzer/calibration.ts";
import { LocalAnalyzer } from "./analyzer/local.ts";
import { OpenAiAnalyzer } from "./analyzer/openai.ts";
import { CloudinaryBackgroundRemover } from "./background/cloudinary.ts";
import { LocalBackgroundRemover } from "./background/local.ts";
import { visionThreads, type WorkerConfig } from "./config.ts";
import type { BackgroundRemover, MetadataAnalyzer } from "./providers.ts";
import { VisionPool } from "./vision/pool.ts";

export interface Providers {
  remover: BackgroundRemover;
  analyzer: MetadataAnalyzer;
  /** The vision threads, when a stage runs locally (closed at shutdown). */
  vision: VisionPool | null;
}

export function createProviders(config: WorkerConfig, storage: ImageStorage, logger: Logger): Providers {
  let vision: VisionPool | null = null;
  // Started on first use, so a replica with both stages hosted runs no threads.
  const threads = () => {
    if (vision) return vision;
    // The catalogue is read and checked here, once, so a malformed CATALOGUE_PATH stops the service at start.
    const catalogue = config.ANALYZER === "local" ? localCatalogue(config.CATALOGUE_PATH) : loadCatalogue();
    vision = new VisionPool({ threads: visionThreads(config), catalogue, logger });
    return vision;
  };
  const remover = createBackgroundRemover(config, storage, threads);
  const analyzer = createAnalyzer(config, threads);
  return { remover, analyzer, vision };
}

function createBackgroundRemover(config: WorkerConfig, storage: ImageStorage, threads: () => VisionPool): BackgroundRemover {
  switch (config.BACKGROUND_REMOVAL) {
    case "local":
      return new LocalBackgroundRemover(threads());
    case "cloudinary":
      // The add-on transforms the original where Cloudinary stores it.
      if (!(storage instanceof CloudinaryStorage)) throw new ConfigError("invalid configuration: BACKGROUND_REMOVAL: cloudinary needs STORAGE=cloudinary");
      return new CloudinaryBackgroundRemover(storage);
  }
}

export function createAnalyzer(config: WorkerConfig, threads: () => VisionPool): MetadataAnalyzer {
  switch (config.ANALYZER) {
    case "local":
      return new LocalAnalyzer(threads());
    case "openai":
      return new OpenAiAnalyzer(config, { calibration: calibrationMap(config) });
  }
}

/** The shipped catalogue merged with CATALOGUE_PATH's; a malformed file stops the service at start, naming the file and line. */
function localCatalogue(path: string | undefined) {
  try {
    return loadCatalogue(path);
  } catch (error) {
    if (error instanceof CatalogueFileError && path !== undefined) throw new ConfigError(`invalid configuration: CATALOGUE_PATH: ${error.message}`);
    throw error;
  }
}

/** AI_CALIBRATION_PATH's map for AI_MODEL, or null; a bad or foreign file stops the service at start. */
function calibrationMap(config: WorkerConfig) {
  if (config.AI_CALIBRATION_PATH === undefined) return null;
  try {
    return loadCalibrationMap(config.AI_CALIBRATION_PATH, config.AI_MODEL);
  } catch (error) {
    if (error instanceof CalibrationFileError) throw new ConfigError(`invalid configuration: AI_CALIBRATION_PATH: ${error.message}`);
    throw error;
  }
}
