/**
 * Socket handshake authentication: the JWT comes in `auth.token`; a refused
 * connection gets a `connect_error` whose message says why. The socket is
 * disconnected when its token expires (clients reconnect with a fresh one).
 */
import { AuthError, type AuthUser, verifyUserToken } from "@pipeline/contracts";
import type { Socket } from "socket.io";

export type SocketData = { user: AuthUser };

export function authenticateSocket(secret: string) {
  return async (socket: Socket, next: (error?: Error) => void) => {
    const token: unknown = socket.handshake.auth?.token;
    if (typeof token !== "string" || token.length === 0) return next(new Error("unauthorized: missing token (send it as auth.token)"));
    try {
      (socket.data as SocketData).user = await verifyUserToken(token, secret);
      next();
    } catch (error) {
      next(new Error(`unauthorized: ${error instanceof AuthError ? error.message : "invalid token"}`));
    }
  };
}

/** Event sent just before a socket is disconnected because its token expired. */
export const SESSION_EXPIRED_EVENT = "session_expired";

/** Disconnects the socket at its token's `exp`. */
export function disconnectAtExpiry(socket: Socket, user: AuthUser): void {
  const ms = user.exp * 1000 - Date.now();
  // setTimeout holds 32-bit delays; tokens valid longer than ~24 days are re-checked at the next reconnect.
  if (ms > 2 ** 31 - 1) return;
  const timer = setTimeout(() => {
    socket.emit(SESSION_EXPIRED_EVENT, { reason: "token expired; reconnect with a fresh token" });
    socket.disconnect(true);
  }, Math.max(0, ms));
  socket.once("disconnect", () => clearTimeout(timer));
}

export const roomOf = (userId: string) => `user:${userId}`;
