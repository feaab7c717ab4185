import { baseConfigSchema, jwtConfigSchema, port, positiveInt } from "@pipeline/runtime/config";
import { storageConfigSchema } from "@pipeline/storage";
import { z } from "zod";

export const gatewayConfigSchema = baseConfigSchema
  .extend(jwtConfigSchema.shape)
  .extend(storageConfigSchema.shape)
  .extend({
    PORT: port(3000),
    INGEST_URL: z.url().default("http://127.0.0.1:3001"),
    /** Secret of the internal tokens sent to ingest; derived from JWT_SECRET when unset. */
    INTERNAL_SECRET: z.string().min(16).optional(),
    /** Requests per user per minute across all gateway replicas (kept in Redis). */
    RATE_LIMIT_PER_MINUTE: positiveInt(120),
    /** Largest request body: a 10 MB image plus the multipart envelope. */
    MAX_BODY_BYTES: positiveInt(10 * 1024 * 1024 + 64 * 1024),
    /** How long ingest may take to answer. */
    UPSTREAM_TIMEOUT_MS: positiveInt(30_000),
    /** Browser origins allowed to call the API (comma-separated), or *; unset: no CORS headers at all. */
    CORS_ORIGIN: z.string().trim().min(1).optional(),
    /** Where browsers reach the notifier (the web page's sockets); default: PUBLIC_URL's host on port 3002. */
    NOTIFIER_PUBLIC_URL: z.url().optional(),
    /** Development only: `POST /api/dev/token` mints a 1 h token for a fixed demo user, and the web page offers it. */
    DEV_LOGIN: z.stringbool().default(false),
  });
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
