import { baseConfigSchema, jwtConfigSchema, mongoConfigSchema, port, positiveInt } from "@pipeline/runtime/config";
import { webhookTargetConfigSchema } from "@pipeline/webhooks/config";
import { z } from "zod";

export const notifierConfigSchema = baseConfigSchema.extend(jwtConfigSchema.shape).extend({
  ...mongoConfigSchema.shape,
  ...webhookTargetConfigSchema.shape,
  /** HTTP port: Socket.IO (/socket.io/), health and metrics. */
  PORT: port(3002),
  /** Outcomes delivered in parallel by one replica. */
  OUTCOME_CONCURRENCY: positiveInt(32),
  /** An outcome held by a replica that died is taken over after this long (BullMQ's lock; renewed at half). */
  OUTCOME_LOCK_MS: positiveInt(5000),
  /** How long a dropped socket can come back and still get what it missed (connection state recovery). */
  RECOVERY_WINDOW_MS: positiveInt(2 * 60_000),
  /**
   * Entries kept in the adapter's Redis stream (cluster-wide: up to five per
   * asset, four `asset_progress` and the final event).
   * Recovery replays from it, so it must still hold a returning client's last
   * offset and everything after it: size it for peak outcomes per second x
   * RECOVERY_WINDOW_MS (50000 covers ~80 assets/s over 2 minutes). A client
   * whose offset was trimmed away is not recovered and catches up over HTTP.
   */
  STREAM_MAX_LEN: positiveInt(50_000),
  /** Engine.IO heartbeat: how often the server pings each connection. */
  PING_INTERVAL_MS: positiveInt(25_000),
  /** How long a ping may go unanswered: a silent connection is dropped after PING_INTERVAL_MS + this. */
  PING_TIMEOUT_MS: positiveInt(20_000),
  /** Browser origins allowed to connect (comma-separated), or *; unset: no CORS headers (same setting as the gateway's). */
  CORS_ORIGIN: z.string().trim().min(1).optional(),
  /** Limit of one webhook delivery attempt. */
  WEBHOOK_TIMEOUT_MS: positiveInt(10_000),
  /** Tries per webhook delivery; with WEBHOOK_BACKOFF_MS 10000 the retries span 10 s x (2^13 - 1) ≈ 22.7 h. */
  WEBHOOK_ATTEMPTS: positiveInt(14),
  /** Exponential backoff base between webhook attempts (retry n waits base x 2^(n-1)). */
  WEBHOOK_BACKOFF_MS: positiveInt(10_000),
  /** A webhook whose attempts have all failed for this long is disabled. */
  WEBHOOK_DISABLE_AFTER_MS: positiveInt(86_400_000),
  /** Webhook jobs (fan-outs and attempts) in flight per replica. */
  WEBHOOK_CONCURRENCY: positiveInt(16),
});
export type NotifierConfig = z.infer<typeof notifierConfigSchema>;
