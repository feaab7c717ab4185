/**
 * Socket handshake authentication: the JWT comes in `auth.token`; a refused
 * connection gets a `connect_error` whose message says why. It runs for
 * recovered sessions too, and a session may only be resumed by its own user.
 * The socket is disconnected when its token expires (clients reconnect with
 * a fresh one).
 */
import type { ClientEventPayload } from "@pipeline/contracts/events";
import { AuthError, type AuthUser, verifyUserToken } from "@pipeline/runtime/auth";
import type { Socket } from "socket.io";
import { SessionRecovery } from "./session-recovery.ts";
import { writeDirect } from "./stream-adapter.ts";

export type SocketData = { user: AuthUser };

export function authenticateSocket(secret: string) {
  return async (socket: Socket, next: (error?: Error) => void) => {
    const token: unknown = socket.handshake.auth?.token;
    if (typeof token !== "string" || token.length === 0) return next(new Error("unauthorized: missing token (send it as auth.token)"));
    let user: AuthUser;
    try {
      user = await verifyUserToken(token, secret);
    } catch (error) {
      return next(new Error(`unauthorized: ${error instanceof AuthError ? error.message : "invalid token"}`));
    }
    if (socket.recovered && SessionRecovery.restoredUserId(socket) !== user.userId) {
      return next(new Error("unauthorized: the session being resumed belongs to another user"));
    }
    (socket.data as SocketData).user = user;
    next();
  };
}

/** Disconnects the socket at its token's `exp`, telling it why first. */
export function disconnectAtExpiry(socket: Socket, user: AuthUser): void {
  const ms = user.exp * 1000 - Date.now();
  // setTimeout holds 32-bit delays; tokens valid longer than ~24 days are re-checked at the next reconnect.
  if (ms > 2 ** 31 - 1) return;
  const timer = setTimeout(
    () => {
      // Written straight to this connection (socket.emit would go through the stream and arrive after the disconnect).
      const payload: ClientEventPayload<"session_expired"> = { reason: "token expired; reconnect with a fresh token" };
      writeDirect(socket, ["session_expired", payload]);
      socket.disconnect(true);
    },
    Math.max(0, ms),
  );
  socket.once("disconnect", () => clearTimeout(timer));
}
