/**
 * Every event the server sends to a client's socket, in one typed map:
 * event name -> zod schema of its payload. The notifier emits whatever the
 * map allows, its Socket.IO server is typed from it, and the outcome queue
 * carries `{userId, event, payload}` checked against it. A new event is
 * added here, once.
 */
import { z } from "zod";
import { assetProgressStateSchema, extractedMetadataSchema, objectIdSchema } from "./asset.ts";

export const assetProcessedSuccessSchema = z.object({
  event: z.literal("asset_processed"),
  assetId: objectIdSchema,
  status: z.literal("active"),
  aiMetadata: extractedMetadataSchema,
  processedImageUrl: z.url(),
  timestamp: z.iso.datetime(),
});
export const assetProcessedFailureSchema = z.object({
  event: z.literal("asset_processed"),
  assetId: objectIdSchema,
  status: z.literal("failed"),
  error: z.string().min(1),
  timestamp: z.iso.datetime(),
});
export const assetProcessedSchema = z.discriminatedUnion("status", [assetProcessedSuccessSchema, assetProcessedFailureSchema]);
export type AssetProcessedEvent = z.infer<typeof assetProcessedSchema>;

/**
 * A stage of an Asset's run began. Best effort: one may be lost, and none
 * follows the Asset's final event (`asset_processed` or `asset_deleted`).
 */
export const assetProgressSchema = assetProgressStateSchema.extend({ assetId: objectIdSchema, timestamp: z.iso.datetime() });
export type AssetProgressEvent = z.infer<typeof assetProgressSchema>;

/** The owner deleted the Asset (a final event: nothing about it follows). */
export const assetDeletedSchema = z.object({ assetId: objectIdSchema, timestamp: z.iso.datetime() });
export type AssetDeletedEvent = z.infer<typeof assetDeletedSchema>;

/** Sent to every socket once it is admitted (new or resumed); its recovery offset follows as a last argument. */
export const sessionSchema = z.object({ userId: objectIdSchema, expiresAt: z.iso.datetime() });
/** Sent just before a socket is disconnected because its token expired. */
export const sessionExpiredSchema = z.object({ reason: z.string() });

export const clientEventMap = {
  asset_processed: assetProcessedSchema,
  asset_progress: assetProgressSchema,
  asset_deleted: assetDeletedSchema,
  session: sessionSchema,
  session_expired: sessionExpiredSchema,
} as const;
export type ClientEventMap = typeof clientEventMap;
export type ClientEventName = keyof ClientEventMap;
export type ClientEventPayload<E extends ClientEventName> = z.infer<ClientEventMap[E]>;
export const CLIENT_EVENTS = Object.keys(clientEventMap) as ClientEventName[];
// Annotated, so the literal type survives in object literals.
export const ASSET_PROCESSED_EVENT: "asset_processed" = "asset_processed";

/** Socket.IO's server-to-client typing, derived from the map. */
export type ServerToClientEvents = { [E in ClientEventName]: (payload: ClientEventPayload<E>, offset?: string) => void };
/** Clients send nothing: the server handles no client events. */
export type ClientToServerEvents = Record<string, never>;

/** The room of a user's sockets. */
export const roomOf = (userId: string) => `user:${userId}`;

/** One client event for a user's room (@pipeline/messaging sends it, with its ids). */
export type ClientEventJob = { [E in ClientEventName]: { userId: string; event: E; payload: ClientEventPayload<E> } }[ClientEventName];

/** Checks a queued client event: a known event name, a user id, and the payload that event's schema allows. */
export const clientEventJobSchema = z
  .object({ userId: objectIdSchema, event: z.enum(CLIENT_EVENTS as [ClientEventName, ...ClientEventName[]]), payload: z.unknown() })
  .transform((job, ctx): ClientEventJob => {
    const payload = clientEventMap[job.event].safeParse(job.payload);
    if (!payload.success) {
      for (const issue of payload.error.issues) ctx.addIssue({ ...issue, path: ["payload", ...issue.path] } as never);
      return z.NEVER;
    }
    return { ...job, payload: payload.data } as ClientEventJob;
  });
