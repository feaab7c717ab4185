import { baseConfigSchema, jwtConfigSchema, port, positiveInt } from "@pipeline/contracts";
import { z } from "zod";

export const notifierConfigSchema = baseConfigSchema.extend(jwtConfigSchema.shape).extend({
  PORT: port(3002),
  /** Outcomes delivered in parallel by one replica. */
  OUTCOME_CONCURRENCY: positiveInt(32),
  /** How long a dropped socket can come back and still get what it missed (connection state recovery). */
  RECOVERY_WINDOW_MS: positiveInt(2 * 60_000),
  /**
   * Entries kept in the adapter's Redis stream. Recovery replays from it, so it
   * must hold every event of the recovery window: size it for peak events per
   * second x window (10000 covers ~80 events/s over 2 minutes).
   */
  STREAM_MAX_LEN: positiveInt(10_000),
  /** Browser origins allowed to connect (comma-separated); * for any. */
  CORS_ORIGIN: z.string().default("*"),
});
export type NotifierConfig = z.infer<typeof notifierConfigSchema>;
