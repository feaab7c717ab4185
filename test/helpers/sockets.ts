/**
 * Real socket.io-client connections that record what they receive, and the
 * client pattern of docs/api-and-events.md (listen, catch up on every reconnect).
 */
import { ASSET_PROCESSED_EVENT, type AssetProcessedEvent } from "@pipeline/contracts/events";
import { io, type Socket } from "socket.io-client";

export interface RecordingSocket {
  socket: Socket;
  events: AssetProcessedEvent[];
  /** Every other event received, in order (session, session_expired, ...). */
  others: { event: string; args: unknown[] }[];
  /** One entry per "connect", with whether Socket.IO recovered the session. */
  connects: { recovered: boolean }[];
  disconnects: string[];
  /** connect_error messages (a refusal by the server stops reconnection). */
  connectErrors: string[];
  close(): void;
}

export interface SocketOptions {
  transports?: ("websocket" | "polling")[];
  reconnection?: boolean;
  /** Delay before each reconnection attempt (fixed, no jitter), default 1000 ms. */
  reconnectionDelay?: number;
}

export function openSocket(url: string, token: string | undefined, options: SocketOptions = {}): Socket {
  return io(url, {
    auth: token === undefined ? {} : { token },
    transports: options.transports ?? ["websocket"],
    reconnection: options.reconnection ?? false,
    reconnectionDelay: options.reconnectionDelay ?? 1000,
    reconnectionDelayMax: options.reconnectionDelay ?? 1000,
    randomizationFactor: 0,
    forceNew: true,
  });
}

/** Connects and resolves once connected; rejects with the server's connect_error message. */
export function connectRecording(url: string, token: string, options: SocketOptions = {}): Promise<RecordingSocket> {
  const socket = openSocket(url, token, options);
  const recording: RecordingSocket = { socket, events: [], others: [], connects: [], disconnects: [], connectErrors: [], close: () => socket.close() };
  socket.on(ASSET_PROCESSED_EVENT, (payload: AssetProcessedEvent) => recording.events.push(payload));
  socket.onAny((event: string, ...args: unknown[]) => {
    if (event !== ASSET_PROCESSED_EVENT) recording.others.push({ event, args });
  });
  socket.on("connect", () => recording.connects.push({ recovered: socket.recovered }));
  socket.on("disconnect", (reason) => recording.disconnects.push(reason));
  socket.on("connect_error", (error) => recording.connectErrors.push(error.message));
  return new Promise((resolve, reject) => {
    // Only the first attempt decides; later connect_errors are reconnection attempts, which must go on.
    const onError = (error: Error) => {
      socket.off("connect", onConnect);
      socket.close();
      reject(error);
    };
    const onConnect = () => {
      socket.off("connect_error", onError);
      resolve(recording);
    };
    socket.once("connect", onConnect);
    socket.once("connect_error", onError);
  });
}

/** The connect_error message a token gets, or null if it connected. */
export function connectError(url: string, token: string | undefined, options: Pick<SocketOptions, "transports"> = {}): Promise<string | null> {
  const socket = openSocket(url, token, options);
  return new Promise((resolve) => {
    socket.once("connect", () => {
      socket.close();
      resolve(null);
    });
    socket.once("connect_error", (error) => {
      socket.close();
      resolve(error.message);
    });
  });
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await Bun.sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** How many times each asset id was received. */
export function countByAsset(events: AssetProcessedEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of events) counts.set(event.assetId, (counts.get(event.assetId) ?? 0) + 1);
  return counts;
}

// ---------------------------------------------------------------------------
// The client pattern docs/api-and-events.md shows: listen, and on every connect that did
// not recover its session, catch up with GET /api/assets?updatedSince=.
// Events and caught-up assets are applied idempotently, keyed by asset id.

export interface AssetFeed {
  socket: Socket;
  /** Latest final status per asset id, from live events and catch-ups alike. */
  assets: Map<string, string>;
  /** Asset ids in the order live events arrived. */
  live: string[];
  /** One entry per connect: whether the session was recovered, and how many assets the catch-up returned. */
  connects: { recovered: boolean; caughtUp: number }[];
  close(): void;
}

export function followAssets(options: {
  notifierUrl: string;
  apiUrl: string;
  token: () => string;
  since: string;
  transports?: ("websocket" | "polling")[];
}): AssetFeed {
  let since = options.since;
  const socket = io(options.notifierUrl, {
    // A function: each (re)connection presents the token current at that moment.
    auth: (send) => send({ token: options.token() }),
    transports: options.transports ?? ["websocket"],
    forceNew: true,
  });
  const feed: AssetFeed = { socket, assets: new Map(), live: [], connects: [], close: () => socket.close() };
  socket.on(ASSET_PROCESSED_EVENT, (event: AssetProcessedEvent) => {
    feed.live.push(event.assetId);
    feed.assets.set(event.assetId, event.status);
  });
  socket.on("connect", async () => {
    const entry = { recovered: socket.recovered, caughtUp: -1 };
    feed.connects.push(entry);
    if (socket.recovered) return; // the server replayed what was missed
    let caughtUp = 0;
    let cursor: string | undefined;
    do {
      const url = new URL("/api/assets", options.apiUrl);
      url.searchParams.set("updatedSince", since);
      url.searchParams.set("limit", "100");
      if (cursor) url.searchParams.set("cursor", cursor);
      const response = await fetch(url, { headers: { authorization: `Bearer ${options.token()}` } });
      if (!response.ok) throw new Error(`catch-up answered ${response.status}`);
      const page = (await response.json()) as { items: { _id: string; status: string; updatedAt: string }[]; nextCursor: string | null };
      for (const asset of page.items) {
        caughtUp++;
        if (asset.status === "active" || asset.status === "failed") feed.assets.set(asset._id, asset.status);
        if (asset.updatedAt > since) since = asset.updatedAt;
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    entry.caughtUp = caughtUp;
  });
  return feed;
}
