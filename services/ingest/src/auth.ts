/** Ingest trusts only the gateway: every /api request carries the gateway's short-lived internal token. */
import { AuthError, verifyInternalToken, type AuthUser } from "@pipeline/runtime/auth";
import { HttpError } from "@pipeline/runtime/http";
import { createMiddleware } from "hono/factory";

export type IngestEnv = { Variables: { user: AuthUser; requestId: string } };

export function requireGateway(secret: string) {
  return createMiddleware<IngestEnv>(async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const token = header.startsWith("Bearer ") ? header.slice(7) : "";
    if (!token) throw new HttpError(401, "unauthorized", "missing gateway credentials");
    try {
      c.set("user", await verifyInternalToken(token, secret));
    } catch (error) {
      throw new HttpError(401, "unauthorized", error instanceof AuthError ? `gateway credentials rejected: ${error.message}` : "gateway credentials rejected");
    }
    await next();
  });
}
