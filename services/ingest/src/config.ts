import { aiJobConfigSchema } from "@pipeline/messaging";
import { baseConfigSchema, jwtConfigSchema, mongoConfigSchema, port, positiveInt } from "@pipeline/runtime/config";
import { storageConfigSchema } from "@pipeline/storage";
import { webhookTargetConfigSchema } from "@pipeline/webhooks/config";
import { z } from "zod";

export const ingestConfigSchema = baseConfigSchema
  .extend(mongoConfigSchema.shape)
  .extend(aiJobConfigSchema.shape)
  .extend(storageConfigSchema.shape)
  .extend(jwtConfigSchema.shape)
  .extend(webhookTargetConfigSchema.shape)
  .extend({
    /** HTTP port: the /api routes behind the gateway, /admin, health and metrics. */
    PORT: port(3001),
    /** Secret of the gateway's internal tokens; derived from JWT_SECRET when unset. */
    INTERNAL_SECRET: z.string().min(16).optional(),
    /** How often one ingest replica looks for Assets left processing with no job (stranded by a crash). */
    SWEEP_INTERVAL_MS: positiveInt(30_000),
    /** How long an Asset must have been processing before the sweep looks at it. */
    SWEEP_STALE_AFTER_MS: positiveInt(120_000),
    /** Largest accepted image, in bytes (10 MB). */
    MAX_IMAGE_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(10 * 1024 * 1024),
  });
export type IngestConfig = z.infer<typeof ingestConfigSchema>;
