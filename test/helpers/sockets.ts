/** Real socket.io-client connections that record what they receive. */
import { type AssetProcessedEvent, ASSET_PROCESSED_EVENT } from "@pipeline/contracts";
import { io, type Socket } from "socket.io-client";

export interface RecordingSocket {
  socket: Socket;
  events: AssetProcessedEvent[];
  close(): void;
}

export function openSocket(url: string, token: string | undefined, options: { transports?: ("websocket" | "polling")[]; reconnection?: boolean } = {}): Socket {
  return io(url, {
    auth: token === undefined ? {} : { token },
    transports: options.transports ?? ["websocket"],
    reconnection: options.reconnection ?? false,
    forceNew: true,
  });
}

/** Connects and resolves once connected; rejects with the server's connect_error message. */
export function connectRecording(url: string, token: string, options: Parameters<typeof openSocket>[2] = {}): Promise<RecordingSocket> {
  const socket = openSocket(url, token, options);
  const events: AssetProcessedEvent[] = [];
  socket.on(ASSET_PROCESSED_EVENT, (payload: AssetProcessedEvent) => events.push(payload));
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve({ socket, events, close: () => socket.close() }));
    socket.once("connect_error", (error) => {
      socket.close();
      reject(error);
    });
  });
}

/** The connect_error message a token gets, or null if it connected. */
export function connectError(url: string, token: string | undefined): Promise<string | null> {
  const socket = openSocket(url, token);
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
