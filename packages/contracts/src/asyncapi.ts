/**
 * The socket side described as AsyncAPI 3.1, generated from the typed
 * client-event map (`clientEventMap`): one message and one `receive`
 * operation per event the server sends, so a new entry in the map appears
 * here with no other change. Payload schemas come from zod (z.toJSONSchema).
 */
import { z } from "zod";
import { type ClientEventName, clientEventMap } from "./events.ts";

/** What each event is for; an event missing here still appears, with a generic summary. */
const EVENT_SUMMARIES: Partial<Record<ClientEventName, string>> = {
  asset_processed: "One of the user's assets finished processing: `status: active` with the extracted metadata, or `status: failed` with the reason.",
  asset_progress:
    "A stage of an asset's run began (`downloading`, `removing_background`, `analyzing`, `storing`). Best effort: one may be lost, and none follows the asset's final event.",
  asset_deleted: "The owner deleted one of their assets; nothing about it follows.",
  session: "Sent to every socket once it is admitted (new or resumed), with the user id and the token's expiry.",
  session_expired: "Sent just before the server disconnects a socket whose token expired; reconnect with a fresh token.",
};

export interface AsyncApiOptions {
  /** The notifier's public base URL, e.g. `http://127.0.0.1:3002`. */
  notifierUrl: string;
  version?: string;
}

/** The JSON Schema of one payload: draft-07 (AsyncAPI 3.1's JSON Schema format), inlined. */
function payloadSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: "draft-7", io: "output", metadata: z.registry(), unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return rest;
}

/** Splits a discriminated union's options into one message each (asset_processed: success and failure). */
function messagesOf(event: string, schema: z.ZodType): Record<string, Record<string, unknown>> {
  const def = (schema as { def?: { type?: string; options?: z.ZodType[]; discriminator?: string } }).def;
  const variants = def?.type === "union" && def.options && def.discriminator ? def.options : [schema];
  const out: Record<string, Record<string, unknown>> = {};
  variants.forEach((variant, index) => {
    let suffix = "";
    if (variants.length > 1 && def?.discriminator) {
      const shape = (variant as unknown as { shape?: Record<string, z.ZodType> }).shape;
      const literal = shape?.[def.discriminator] as { def?: { values?: unknown[] } } | undefined;
      suffix = `_${String(literal?.def?.values?.[0] ?? index)}`;
    }
    const id = `${event}${suffix}`;
    out[id] = {
      name: event,
      title: variants.length > 1 ? `${event} (${def?.discriminator} ${suffix.slice(1)})` : event,
      summary: EVENT_SUMMARIES[event as ClientEventName] ?? `The \`${event}\` event.`,
      contentType: "application/json",
      payload: { schemaFormat: "application/schema+json;version=draft-07", schema: payloadSchema(variant) },
    };
  });
  return out;
}

export function asyncApiDocument(options: AsyncApiOptions) {
  const url = new URL(options.notifierUrl);
  const messages: Record<string, Record<string, unknown>> = {};
  const operations: Record<string, unknown> = {};
  for (const [event, schema] of Object.entries(clientEventMap) as [ClientEventName, z.ZodType][]) {
    const eventMessages = messagesOf(event, schema);
    Object.assign(messages, eventMessages);
    operations[`receive_${event}`] = {
      action: "receive",
      title: `Receive ${event}`,
      summary: EVENT_SUMMARIES[event] ?? `The \`${event}\` event.`,
      description:
        "Emitted by the server with one more string argument, the stream offset socket.io-client keeps to resume the session (listeners can ignore it).",
      channel: { $ref: "#/channels/userRoom" },
      messages: Object.keys(eventMessages).map((id) => ({ $ref: `#/channels/userRoom/messages/${id}` })),
    };
  }
  return {
    asyncapi: "3.1.0",
    info: {
      title: "Collectibles AI pipeline: socket events",
      version: options.version ?? "0.1.0",
      description:
        "Socket.IO (v4) events the notifier sends to a user's sockets. Connect with `io(url, { auth: { token } })`; the server joins the socket to the room `user:<sub>` and handles no client events.",
    },
    defaultContentType: "application/json",
    servers: {
      notifier: {
        host: url.host,
        pathname: "/socket.io/",
        protocol: url.protocol === "https:" ? "wss" : "ws",
        protocolVersion: "socket.io v4 (Engine.IO v4; websocket or long-polling)",
        title: "notifier",
        description: "Any notifier replica; the same events reach every socket of a user whatever replica it is connected to.",
        security: [{ $ref: "#/components/securitySchemes/handshakeToken" }],
      },
    },
    channels: {
      userRoom: {
        address: "user:{userId}",
        title: "The user's room",
        description:
          "Every socket of a user, joined on the server side from the handshake token's `sub`; a client cannot join any other room. Refusals arrive as `connect_error` with a message starting `unauthorized:`.",
        servers: [{ $ref: "#/servers/notifier" }],
        parameters: { userId: { description: "The user's ObjectId (the JWT's `sub`)." } },
        messages,
      },
    },
    operations,
    components: {
      securitySchemes: {
        handshakeToken: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description:
            "The user's JWT, sent in the Socket.IO handshake as `auth.token` (not as a header): HS256 only, `exp` required, `sub` a 24-hex ObjectId. At `exp` the server sends `session_expired` and disconnects.",
        },
      },
    },
  };
}
