/**
 * The queue contracts: queue names, the AI job's data (the specification's fields,
 * validated in the producer and the worker), the specification's job options, and the
 * job ids that make enqueueing idempotent.
 */
import { z } from "zod";
import { categorySchema, objectIdSchema } from "./asset.ts";

/** The queue of AI jobs (the specification's name). */
export const AI_QUEUE = "ai-processing";
/** Client events (outcomes) on their way to the notifiers; each is taken by one notifier. */
export const OUTCOME_QUEUE = "asset-outcomes";
export const AI_JOB_NAME = "analyze-asset";

/**
 * Job data of queue `ai-processing`. `imageUrl` must be HTTPS; the only
 * exception (the configured storage's own plain-HTTP base, e.g. local
 * storage) is checked by `jobDataSchemaFor`.
 */
export const jobDataSchema = z.object({
  assetId: objectIdSchema,
  userId: objectIdSchema,
  imageUrl: z.url(),
  category: categorySchema,
  createdAt: z.iso.datetime(),
  attempt: z.number().int().min(0),
});
export type JobData = z.infer<typeof jobDataSchema>;

/** The job data schema with the HTTPS rule, allowing the storage's own `plainHttpBase` as the one exception. */
export function jobDataSchemaFor(plainHttpBase?: string) {
  return jobDataSchema.refine((data) => data.imageUrl.startsWith("https://") || (plainHttpBase !== undefined && data.imageUrl.startsWith(plainHttpBase)), {
    message: "imageUrl must be an HTTPS URL",
    path: ["imageUrl"],
  });
}

/** The specification's job options; each can be overridden from the environment (see the runtime's job config). */
export const AI_JOB_DEFAULTS = {
  attempts: 3,
  backoffMs: 2000,
  timeoutMs: 120_000,
  removeOnCompleteS: 86_400,
  removeOnFailS: 604_800,
} as const;

export interface AiJobSettings {
  attempts: number;
  backoffMs: number;
  removeOnCompleteS: number;
  removeOnFailS: number;
}

/** BullMQ options of an AI job (the timeout is enforced by the worker: BullMQ has none). */
export function aiJobOptions(settings: AiJobSettings) {
  return {
    attempts: settings.attempts,
    backoff: { type: "exponential" as const, delay: settings.backoffMs },
    removeOnComplete: { age: settings.removeOnCompleteS },
    removeOnFail: { age: settings.removeOnFailS },
  };
}

/** Outcomes are retried for a while (no notifier may be up) and kept an hour so a duplicate publish is dropped. */
export const OUTCOME_JOB_OPTIONS = {
  attempts: 10,
  backoff: { type: "exponential" as const, delay: 500 },
  removeOnComplete: { age: 3600 },
  removeOnFail: { age: 604_800 },
};

/**
 * The AI job id of an asset: the asset id on the first run, `<assetId>-r<n>`
 * after the n-th retry, so enqueueing twice makes one job and a retry never
 * collides with the failed job BullMQ still keeps.
 */
export function aiJobIdFor(assetId: string, previousJobId?: string | null): string {
  if (!previousJobId) return assetId;
  const match = /-r(\d+)$/.exec(previousJobId);
  return `${assetId}-r${match ? Number(match[1]) + 1 : 1}`;
}

/** One outcome per AI job id: publishing it twice is a no-op. */
export function outcomeJobIdFor(aiJobId: string): string {
  return `outcome-${aiJobId}`;
}

/** The AI job id an outcome job is about (the inverse of `outcomeJobIdFor`); undefined for other client events. */
export function aiJobIdOfOutcome(outcomeJobId: string): string | undefined {
  return outcomeJobId.startsWith("outcome-") ? outcomeJobId.slice("outcome-".length) : undefined;
}
