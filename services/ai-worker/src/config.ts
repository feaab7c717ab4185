import { baseConfigSchema, jobConfigSchema, mongoConfigSchema, port, positiveInt } from "@pipeline/runtime/config";
import { storageConfigSchema } from "@pipeline/storage";
import { z } from "zod";
import { openAiConfigSchema } from "./analyzer/openai.ts";

export const workerConfigSchema = baseConfigSchema
  .extend(mongoConfigSchema.shape)
  .extend(jobConfigSchema.shape)
  .extend(storageConfigSchema.shape)
  .extend(openAiConfigSchema.shape)
  .extend({
    /** Health and metrics only. */
    PORT: port(3003),
    /** Jobs in flight per replica. The local analyzer is CPU-bound; 2 keeps both cores of a small machine busy. */
    WORKER_CONCURRENCY: positiveInt(2),
    /** How long a job's lock lasts without renewal; a killed worker's job is taken over after this (and a stall check). */
    WORKER_LOCK_MS: positiveInt(30_000),
    /** How often replicas look for jobs whose worker died. */
    WORKER_STALLED_INTERVAL_MS: positiveInt(30_000),
    /** Times a job may stall (its worker died) before it fails. */
    WORKER_MAX_STALLED_COUNT: z.coerce.number().int().min(0).default(2),
    BACKGROUND_REMOVAL: z.enum(["local", "cloudinary"]).default("local"),
    ANALYZER: z.enum(["local", "openai"]).default("local"),
    /** The user's catalogue (JSON or CSV), merged with the shipped one by the local analyzer; checked at start. */
    CATALOGUE_PATH: z.string().optional(),
  });
export type WorkerConfig = z.infer<typeof workerConfigSchema>;
