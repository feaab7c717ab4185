/**
 * Every id scheme of the pipeline's messages. Ids make each step idempotent:
 * enqueueing, publishing or fanning out the same thing twice is a no-op.
 * Ids are only ever built here, never parsed elsewhere; a message that needs
 * another id (an outcome's run) carries it as a field.
 */
import { createHash } from "node:crypto";

/**
 * The AI job id (the run id) of an Asset's run: the asset id on the first run, `<assetId>-r<n>` after the
 * n-th retry, so enqueueing twice makes one job and a retry never collides with the failed job BullMQ keeps.
 */
export function runIdFor(assetId: string, previousRunId?: string | null): string {
  if (!previousRunId) return assetId;
  const match = /-r(\d+)$/.exec(previousRunId);
  return `${assetId}-r${match ? Number(match[1]) + 1 : 1}`;
}

/** The id of a run's final event (`asset_processed`): one per run, however often it is published or written. */
export const outcomeIdFor = (runId: string) => `outcome-${runId}`;

/** The id of an Asset's `asset_deleted` event: one per Asset, however often its owner repeats the DELETE. */
export const deletionIdFor = (assetId: string) => `deleted-${assetId}`;

/** The fan-out job id of an event. BullMQ custom ids may not contain ':', so it is escaped (reversibly, so ids stay distinct). */
export const fanOutJobIdFor = (eventId: string) => `fanout-${eventId.replaceAll("%", "%25").replaceAll(":", "%3A")}`;

/** The delivery id (`webhook-id`, `msg_…`, also its job id) of an event for a webhook: the same however often it is computed. */
export const deliveryIdFor = (eventId: string, webhookId: string) =>
  `msg_${createHash("sha256").update(`${eventId}\n${webhookId}`).digest("hex").slice(0, 32)}`;
