/** Ingest trusts only the gateway: every /api and /admin request carries the gateway's short-lived internal token. */
import { AuthError, type AuthUser, VerifiedTokens, verifyInternalToken } from "@pipeline/runtime/auth";
import { HttpError } from "@pipeline/runtime/http";
import { createMiddleware } from "hono/factory";

export type IngestEnv = { Variables: { user: AuthUser; requestId: string } };

export function requireGateway(secret: string) {
  // The gateway reuses a user's token for half its life: verify each once.
  const verified = new VerifiedTokens();
  return createMiddleware<IngestEnv>(async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const token = header.startsWith("Bearer ") ? header.slice(7) : "";
    if (!token) throw new HttpError(401, "unauthorized", "missing gateway credentials");
    try {
      let user = verified.get(token);
      if (!user) {
        user = await verifyInternalToken(token, secret);
        verified.set(token, user);
      }
      c.set("user", user);
    } catch (error) {
      throw new HttpError(401, "unauthorized", error instanceof AuthError ? `gateway credentials rejected: ${error.message}` : "gateway credentials rejected");
    }
    await next();
  });
}

/** After requireGateway: the user the gateway vouches for must have the admin role (the admin API and the queue dashboard). */
export const requireAdmin = createMiddleware<IngestEnv>(async (c, next) => {
  if (!c.var.user.isAdmin) throw new HttpError(403, "forbidden", "admin role required");
  await next();
});
