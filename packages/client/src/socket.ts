/**
 * The client's socket to the notifier: every event checked against its
 * contract and handed to its handler, each outcome once (live or by the
 * catch-up over HTTP that follows every connect the server did not resume),
 * and a reconnection with a fresh token when the server ended the session.
 */
import {
  type AssetPage,
  type AssetProcessedEvent,
  type AssetResponse,
  CLIENT_EVENTS,
  type ClientEventName,
  type ClientEventPayload,
  clientEventMap,
  describeZodError,
  type ServerToClientEvents,
} from "@pipeline/contracts";
import { io, type Socket } from "socket.io-client";
import { DeliveredOutcomes } from "./delivered.ts";
import { ApiError } from "./errors.ts";
import type { Session, TokenSource } from "./session.ts";

type EventHandlers = { [E in ClientEventName]?: (payload: ClientEventPayload<E>) => void };

export interface SubscribeHandlers extends EventHandlers {
  /** Finished (active or failed) Assets found by a catch-up after a connect, never ones already delivered. */
  onCatchUp?: (assets: AssetResponse[]) => void;
  /** Each connect; `recovered` when the server resumed the session and replayed what was missed. */
  onConnect?: (info: { recovered: boolean }) => void;
  onDisconnect?: (reason: string) => void;
  /** A refused connection, a failed catch-up, or an event that does not match its contract. */
  onError?: (error: Error) => void;
}

export interface SubscribeOptions {
  /** ISO time to catch up from on the first connect (default: now). */
  since?: string;
  /** Socket.IO transports (default: websocket, then polling). */
  transports?: ("websocket" | "polling")[];
  /** Delay before each reconnection attempt, ms (default 1000). */
  reconnectionDelay?: number;
}

export interface Subscription {
  /** The underlying socket (for tests and advanced use). */
  readonly socket: Socket<ServerToClientEvents>;
  close(): void;
}

export interface SocketDeps {
  notifierUrl: string;
  session: Pick<Session, "currentToken">;
  /** Whether the token is a function (then an ended session is resumed with a fresh token). */
  token: TokenSource;
  /** The pages of Assets changed since a time (the catch-up reads them all). */
  changedSince(since: string): AsyncIterable<AssetPage>;
}

export function subscribe(deps: SocketDeps, handlers: SubscribeHandlers, options: SubscribeOptions = {}): Subscription {
  let closed = false;
  const delivered = new DeliveredOutcomes(options.since ?? new Date().toISOString());
  const fail = (error: unknown) => handlers.onError?.(error instanceof Error ? error : new Error(String(error)));

  const socket: Socket<ServerToClientEvents> = io(deps.notifierUrl, {
    auth: (send) => {
      deps.session.currentToken().then(
        (token) => send({ token }),
        (error) => {
          fail(error);
          send({});
        },
      );
    },
    transports: options.transports ?? ["websocket", "polling"],
    reconnectionDelay: options.reconnectionDelay ?? 1000,
    reconnectionDelayMax: Math.max(options.reconnectionDelay ?? 1000, 5000),
    forceNew: true,
  });

  for (const event of CLIENT_EVENTS) {
    socket.on(event, ((payload: unknown) => {
      const parsed = clientEventMap[event].safeParse(payload);
      if (!parsed.success) return fail(new Error(`${event} event does not match its contract: ${describeZodError(parsed.error)}`));
      if (event === "asset_processed" && !delivered.takeLive(parsed.data as AssetProcessedEvent)) return;
      (handlers[event] as ((payload: unknown) => void) | undefined)?.(parsed.data);
    }) as never);
  }

  /**
   * Reads every Asset changed since the last complete catch-up and hands over the finished ones not
   * delivered yet; a catch-up cut short changes nothing, so the next attempt reads it again in full.
   */
  async function catchUp(): Promise<void> {
    const changed: AssetResponse[] = [];
    for await (const page of deps.changedSince(delivered.since)) changed.push(...page.items);
    const found = delivered.takeCaughtUp(changed);
    if (found.length && !closed) handlers.onCatchUp?.(found);
  }

  /** A failed catch-up (API unreachable for a moment) is retried with backoff until it succeeds or the subscription closes. */
  async function catchUpUntilDone(): Promise<void> {
    for (let delayMs = 500; !closed; delayMs = Math.min(delayMs * 2, 30_000)) {
      try {
        return await catchUp();
      } catch (error) {
        fail(error);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  // Catch-ups run one after another, so two quick reconnects cannot deliver the same Asset twice.
  let catchUps: Promise<void> = Promise.resolve();
  socket.on("connect", () => {
    const recovered = socket.recovered;
    handlers.onConnect?.({ recovered });
    if (recovered) return; // the server replayed the missed events
    catchUps = catchUps.then(catchUpUntilDone);
  });
  socket.on("disconnect", (reason) => {
    handlers.onDisconnect?.(reason);
    // The server disconnected us (an expired token): come back when a fresh token can be had.
    if (reason === "io server disconnect" && typeof deps.token === "function" && !closed) socket.connect();
  });
  socket.on("connect_error", (error) =>
    fail(new ApiError(0, socket.active ? "unreachable" : "unauthorized", `notifier ${deps.notifierUrl}: ${error.message}`)),
  );

  return {
    socket,
    close() {
      closed = true;
      socket.close();
    },
  };
}
