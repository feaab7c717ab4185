/**
 * The queue dashboard's browser session. A browser cannot send a bearer token when it
 * opens a page, so `POST /api/admin/session` (behind the gateway's bearer authentication)
 * gives an admin a short-lived cookie that only /admin accepts: HttpOnly, SameSite=Strict,
 * Path=/admin, Secure when PUBLIC_URL is https. The cookie is a JWT with its own audience,
 * signed with a key derived from JWT_SECRET, so an API token is no cookie and the cookie
 * is no API token (each fails the other's signature check). `DELETE` clears it.
 */
import { createHmac } from "node:crypto";
import { AuthError, type AuthUser, describeJwtError, userFromClaims } from "@pipeline/runtime/auth";
import { HttpError } from "@pipeline/runtime/http";
import { Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { sign, verify } from "hono/jwt";
import type { CookieOptions } from "hono/utils/cookie";
import type { GatewayEnv } from "../middleware/auth.ts";

export const ADMIN_SESSION_COOKIE = "admin_session";
/** Short: the cookie outlives neither 15 minutes nor the bearer token it was made from. */
export const ADMIN_SESSION_TTL_S = 15 * 60;
const AUDIENCE = "admin-dashboard";

export class AdminSessions {
  private readonly key: string;
  readonly cookieOptions: CookieOptions;

  constructor(jwtSecret: string, publicUrl: string | undefined) {
    this.key = createHmac("sha256", jwtSecret).update("admin-dashboard-session").digest("hex");
    this.cookieOptions = { path: "/admin", httpOnly: true, sameSite: "Strict", secure: publicUrl?.startsWith("https:") ?? false };
  }

  async issue(user: AuthUser, nowS = Math.floor(Date.now() / 1000)): Promise<{ token: string; exp: number }> {
    const exp = Math.min(nowS + ADMIN_SESSION_TTL_S, user.exp);
    return { token: await sign({ sub: user.userId, role: "admin", aud: AUDIENCE, iat: nowS, exp }, this.key, "HS256"), exp };
  }

  /** The admin a session cookie stands for; AuthError when it is invalid or expired. */
  async verify(token: string): Promise<AuthUser> {
    let payload: unknown;
    try {
      payload = await verify(token, this.key, { alg: "HS256", aud: AUDIENCE });
    } catch (error) {
      throw new AuthError(describeJwtError(error, token));
    }
    const user = userFromClaims(payload);
    if (!user.isAdmin) throw new AuthError("not an admin session");
    return user;
  }
}

/** Mounted at /api/admin/session, after the /api bearer authentication (which sets `user`). */
export function adminSessionRoutes(sessions: AdminSessions) {
  const app = new Hono<GatewayEnv>();
  app.post("/", async (c) => {
    if (!c.var.user.isAdmin) throw new HttpError(403, "forbidden", "admin role required");
    const { token, exp } = await sessions.issue(c.var.user);
    setCookie(c, ADMIN_SESSION_COOKIE, token, { ...sessions.cookieOptions, maxAge: Math.max(0, exp - Math.floor(Date.now() / 1000)) });
    c.header("cache-control", "no-store");
    return c.json({ expiresAt: new Date(exp * 1000).toISOString() }, 200);
  });
  app.delete("/", (c) => {
    deleteCookie(c, ADMIN_SESSION_COOKIE, sessions.cookieOptions);
    return c.body(null, 204);
  });
  return app;
}
