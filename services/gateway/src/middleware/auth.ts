/**
 * Bearer JWT authentication: Hono's JWT middleware checks the signature
 * (HS256 only) and expiry; then the claims are checked (`exp` present, `sub`
 * an ObjectId) and the user is put on the context. A refused request first
 * goes through `onRefused` (the per-IP limit), which may answer 429 instead
 * of the 401.
 */
import { AuthError, type AuthUser, describeJwtError, userFromClaims, VerifiedTokens } from "@pipeline/runtime/auth";
import { HttpError } from "@pipeline/runtime/http";
import type { Context, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { jwt } from "hono/jwt";
import type { BodyGuard } from "./body-guard.ts";

export type GatewayEnv = {
  Variables: {
    user: AuthUser;
    requestId: string;
    jwtPayload: unknown;
    /** The request body as the proxy may forward it (set by guardBody). */
    bodyGuard?: BodyGuard;
  };
};

export function authenticate(secret: string, options: { onRefused?: (c: Context) => Promise<void> } = {}): MiddlewareHandler<GatewayEnv> {
  const verifySignature = jwt({ secret, alg: "HS256" });
  // A client sends the same token for its whole life: check it once, until it expires.
  const verified = new VerifiedTokens();
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const header = c.req.header("authorization");
    const known = header ? verified.get(header) : undefined;
    if (known) {
      c.set("user", known);
      return next();
    }
    try {
      await verifySignature(c, async () => undefined);
    } catch (error) {
      if (!(error instanceof HTTPException)) throw error;
      const token = c.req.header("authorization")?.replace(/^Bearer\s+/i, "");
      const reason = error.cause ? describeJwtError(error.cause, token) : "missing or malformed Authorization header (expected: Bearer <JWT>)";
      await options.onRefused?.(c);
      throw new HttpError(401, "unauthorized", reason);
    }
    try {
      const user = userFromClaims(c.get("jwtPayload"));
      if (header) verified.set(header, user);
      c.set("user", user);
    } catch (error) {
      await options.onRefused?.(c);
      throw new HttpError(401, "unauthorized", error instanceof AuthError ? error.message : "invalid token");
    }
    await next();
  });
}
