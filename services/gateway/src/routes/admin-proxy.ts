/**
 * /admin (the queue dashboard, which ingest serves): admins only, by the session cookie of
 * `POST /api/admin/session` or an admin bearer token; then forwarded to ingest with the
 * internal token, like /api. No credentials or bad ones: 401 (after `onRefused`, the per-IP
 * limit, as on /api); a user's token: 403.
 */
import { AuthError, type AuthUser, verifyUserToken } from "@pipeline/runtime/auth";
import { HttpError } from "@pipeline/runtime/http";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { GatewayEnv } from "../middleware/auth.ts";
import { ADMIN_SESSION_COOKIE, type AdminSessions } from "./admin-session.ts";

interface AdminProxyOptions {
  sessions: AdminSessions;
  jwtSecret: string;
  forward: MiddlewareHandler<GatewayEnv>;
  onRefused?: (c: Context) => Promise<void>;
}

export function adminProxy(options: AdminProxyOptions) {
  const app = new Hono<GatewayEnv>();
  app.use("*", async (c, next) => {
    try {
      c.set("user", await adminOf(c.req.header("authorization"), getCookie(c, ADMIN_SESSION_COOKIE), options));
    } catch (error) {
      if (error instanceof HttpError && error.status === 401) await options.onRefused?.(c);
      throw error;
    }
    await next();
  });
  app.all("*", options.forward);
  return app;
}

async function adminOf(header: string | undefined, cookie: string | undefined, options: AdminProxyOptions): Promise<AuthUser> {
  const bearer = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
  let reason = "an admin session (POST /api/admin/session) or an admin bearer token is required";
  if (cookie) {
    try {
      return await options.sessions.verify(cookie);
    } catch (error) {
      reason = `admin session rejected (${error instanceof AuthError ? error.message : "invalid"}); POST /api/admin/session again`;
    }
  }
  if (bearer) {
    let user: AuthUser;
    try {
      user = await verifyUserToken(bearer, options.jwtSecret);
    } catch (error) {
      throw new HttpError(401, "unauthorized", error instanceof AuthError ? error.message : "invalid token");
    }
    if (!user.isAdmin) throw new HttpError(403, "forbidden", "admin role required");
    return user;
  }
  throw new HttpError(401, "unauthorized", reason);
}
