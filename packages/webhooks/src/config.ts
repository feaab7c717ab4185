/** The webhook settings ingest (registration) and the notifier (delivery) share. */
import { positiveInt } from "@pipeline/runtime/config";
import { z } from "zod";

export const webhookTargetConfigSchema = z.object({
  /** Development and tests only: allow plain-HTTP targets and private, loopback and other non-public addresses (`bun run dev`: true). */
  WEBHOOK_ALLOW_PRIVATE: z.stringbool().default(false),
  /** How long delivery records are kept, in days (every process sharing a database must agree: it is the TTL index's). */
  WEBHOOK_DELIVERY_RETENTION_DAYS: positiveInt(30),
});
