/**
 * Bearer JWT authentication: Hono's JWT middleware checks the signature
 * (HS256 only) and expiry; then the claims are checked (`exp` present, `sub`
 * an ObjectId) and the user is put on the context.
 */
import { AuthError, describeJwtError, userFromClaims, type AuthUser } from "@pipeline/runtime/auth";
import { HttpError } from "@pipeline/runtime/http";
import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { jwt } from "hono/jwt";

export type GatewayEnv = { Variables: { user: AuthUser; requestId: string; jwtPayload: unknown } };

export function authenticate(secret: string): MiddlewareHandler<GatewayEnv> {
  const verifySignature = jwt({ secret, alg: "HS256" });
  return createMiddleware<GatewayEnv>(async (c, next) => {
    try {
      await verifySignature(c, async () => undefined);
    } catch (error) {
      if (!(error instanceof HTTPException)) throw error;
      const token = c.req.header("authorization")?.replace(/^Bearer\s+/i, "");
      const reason = error.cause ? describeJwtError(error.cause, token) : "missing or malformed Authorization header (expected: Bearer <JWT>)";
      throw new HttpError(401, "unauthorized", reason);
    }
    try {
      c.set("user", userFromClaims(c.get("jwtPayload")));
    } catch (error) {
      throw new HttpError(401, "unauthorized", error instanceof AuthError ? error.message : "invalid token");
    }
    await next();
  });
}
