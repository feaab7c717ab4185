import { availableParallelism } from "node:os";
import { aiJobConfigSchema } from "@pipeline/messaging";
import { baseConfigSchema, mongoConfigSchema, port, positiveInt } from "@pipeline/runtime/config";
import { storageConfigSchema } from "@pipeline/storage";
import { z } from "zod";
import { openAiConfigSchema } from "./analyzer/openai.ts";

export const workerConfigSchema = baseConfigSchema
  .extend(mongoConfigSchema.shape)
  .extend(aiJobConfigSchema.shape)
  .extend(storageConfigSchema.shape)
  .extend(openAiConfigSchema.shape)
  .extend({
    /** Health and metrics only. */
    PORT: port(3003),
    /** Jobs in flight per replica; unset, it follows the analyzer (workerConcurrency below): the core count with ANALYZER `local` (CPU-bound), 16 with `openai` (a replica mostly waits on the endpoint). */
    WORKER_CONCURRENCY: z.coerce.number().int().positive().optional(),
    /** Worker threads for the local image work (background removal, OCR), each with its own Tesseract worker; unset, one per core (visionThreads below). In a container limited to fewer CPUs than its host has, set it to the limit. */
    VISION_THREADS: z.coerce.number().int().positive().optional(),
    /** How long a job's lock lasts without renewal; a killed worker's job is taken over after this (and a stall check). */
    WORKER_LOCK_MS: positiveInt(30_000),
    /** How often replicas look for jobs whose worker died. */
    WORKER_STALLED_INTERVAL_MS: positiveInt(30_000),
    /** Times a job may stall (its worker died) before it fails. */
    WORKER_MAX_STALLED_COUNT: z.coerce.number().int().min(0).default(2),
    /** Background removal: on this machine (sharp), or Cloudinary's add-on (CLOUDINARY_URL). */
    BACKGROUND_REMOVAL: z.enum(["local", "cloudinary"]).default("local"),
    /** Metadata extraction: the offline analyzer, or an OpenAI-compatible vision model (AI_BASE_URL, AI_API_KEY, AI_MODEL). */
    ANALYZER: z.enum(["local", "openai"]).default("local"),
    /** The user's catalogue (JSON or CSV), merged with the shipped one by the local analyzer; checked at start. */
    CATALOGUE_PATH: z.string().optional(),
  });
export type WorkerConfig = z.infer<typeof workerConfigSchema>;

/** A replica with a remote analyzer mostly waits on the endpoint: 16 calls of ~5 s in flight are ~3 assets/s. */
export const REMOTE_ANALYZER_CONCURRENCY = 16;

/**
 * WORKER_CONCURRENCY, or its default: one job per core for the CPU-bound
 * local analyzer, REMOTE_ANALYZER_CONCURRENCY for a hosted one.
 */
export function workerConcurrency(config: Pick<WorkerConfig, "WORKER_CONCURRENCY" | "ANALYZER">, cores = availableParallelism()): number {
  return config.WORKER_CONCURRENCY ?? (config.ANALYZER === "local" ? cores : REMOTE_ANALYZER_CONCURRENCY);
}

/** VISION_THREADS, or its default: one thread per core, so a replica's image work uses every core it has. */
export function visionThreads(config: Pick<WorkerConfig, "VISION_THREADS">, cores = availableParallelism()): number {
  return config.VISION_THREADS ?? cores;
}
