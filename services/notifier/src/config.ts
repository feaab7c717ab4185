import { baseConfigSchema, jwtConfigSchema, port, positiveInt } from "@pipeline/runtime/config";
import { z } from "zod";

export const notifierConfigSchema = baseConfigSchema.extend(jwtConfigSchema.shape).extend({
  PORT: port(3002),
  /** Outcomes delivered in parallel by one replica. */
  OUTCOME_CONCURRENCY: positiveInt(32),
  /** How long a dropped socket can come back and still get what it missed (connection state recovery). */
  RECOVERY_WINDOW_MS: positiveInt(2 * 60_000),
  /**
   * Entries kept in the adapter's Redis stream (one per outcome, cluster-wide).
   * Recovery replays from it, so it must still hold a returning client's last
   * offset and everything after it: size it for peak outcomes per second x
   * RECOVERY_WINDOW_MS (10000 covers ~80 outcomes/s over 2 minutes). A client
   * whose offset was trimmed away is not recovered and catches up over HTTP.
   */
  STREAM_MAX_LEN: positiveInt(10_000),
  /** Engine.IO heartbeat: a silent connection is dropped after interval + timeout. */
  PING_INTERVAL_MS: positiveInt(25_000),
  PING_TIMEOUT_MS: positiveInt(20_000),
  /** Browser origins allowed to connect (comma-separated), or *; unset: no CORS headers (same setting as the gateway's). */
  CORS_ORIGIN: z.string().trim().min(1).optional(),
});
export type NotifierConfig = z.infer<typeof notifierConfigSchema>;
