/**
 * Token rules shared by the gateway (HTTP) and the notifier (socket
 * handshake): HS256 only, `exp` required, `sub` a 24-hex ObjectId.
 * The gateway vouches for a user to ingest with a short-lived internal token
 * signed with a secret derived from JWT_SECRET (or INTERNAL_SECRET).
 */

import { objectIdSchema } from "@pipeline/contracts/asset";
import { decode, sign, verify } from "hono/jwt";
import { z } from "zod";

const userClaimsSchema = z.object({
  sub: objectIdSchema,
  exp: z.number({ error: "token has no exp claim" }),
  role: z.string().optional(),
});

export interface AuthUser {
  userId: string;
  isAdmin: boolean;
  /** Seconds since the epoch at which the token stops being valid. */
  exp: number;
}

export class AuthError extends Error {
  override name = "AuthError";
}

/** Checks the claims of an already signature-verified payload. */
export function userFromClaims(payload: unknown): AuthUser {
  const claims = userClaimsSchema.safeParse(payload);
  if (!claims.success) {
    const issue = claims.error.issues[0];
    throw new AuthError(issue?.path[0] === "exp" ? "token has no exp claim" : `invalid token claims: ${issue?.path.join(".")} ${issue?.message}`);
  }
  return { userId: claims.data.sub.toLowerCase(), isAdmin: claims.data.role === "admin", exp: claims.data.exp };
}

/** Verifies a user's JWT: signature (HS256 only), expiry and claims. Throws AuthError with a reason. */
export async function verifyUserToken(token: string, secret: string): Promise<AuthUser> {
  let payload: unknown;
  try {
    payload = await verify(token, secret, "HS256");
  } catch (error) {
    throw new AuthError(describeJwtError(error, token));
  }
  return userFromClaims(payload);
}

/** A human reason for hono/jwt's error classes. */
export function describeJwtError(error: unknown, token?: string): string {
  const name = error instanceof Error ? error.name : "";
  switch (name) {
    case "JwtTokenExpired":
      // hono/jwt reports a missing exp as expired; say which it was.
      return token !== undefined && !hasExpClaim(token) ? "token has no exp claim" : "token expired";
    case "JwtTokenSignatureMismatched":
      return "token signature does not match";
    case "JwtAlgorithmNotImplemented":
    case "JwtAlgorithmMismatch":
    case "JwtHeaderInvalid":
      return "token algorithm not allowed (HS256 only)";
    case "JwtTokenInvalid":
      return "token is malformed";
    case "JwtTokenNotBefore":
    case "JwtTokenIssuedAt":
      return "token is not valid yet";
    default:
      return error instanceof Error && error.message ? `invalid token: ${error.message}` : "invalid token";
  }
}

function hasExpClaim(token: string): boolean {
  try {
    return typeof decode(token).payload.exp === "number";
  } catch {
    return false;
  }
}

const INTERNAL_AUDIENCE = "ingest";
const INTERNAL_TOKEN_TTL_S = 60;

/** The gateway-to-ingest secret: INTERNAL_SECRET if set, else derived from JWT_SECRET so a user token never passes. */
export async function internalSecret(jwtSecret: string, explicit?: string): Promise<string> {
  if (explicit) return explicit;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`gateway->ingest:${jwtSecret}`));
  return Buffer.from(digest).toString("hex");
}

function signInternalToken(user: AuthUser, secret: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign(
    { sub: user.userId, role: user.isAdmin ? "admin" : undefined, aud: INTERNAL_AUDIENCE, iat: now, exp: now + INTERNAL_TOKEN_TTL_S },
    secret,
    "HS256",
  );
}

export async function verifyInternalToken(token: string, secret: string): Promise<AuthUser> {
  let payload: unknown;
  try {
    payload = await verify(token, secret, { alg: "HS256", aud: INTERNAL_AUDIENCE });
  } catch (error) {
    throw new AuthError(describeJwtError(error));
  }
  return userFromClaims(payload);
}

/**
 * Tokens already verified, until they expire: an HMAC check and a claims
 * parse per request cost more than the rest of a cached request. Bounded;
 * the oldest entry goes first when full.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, AuthUser>();

  constructor(private readonly max = 10_000) {}

  get(token: string, nowS = Date.now() / 1000): AuthUser | undefined {
    const user = this.entries.get(token);
    if (user && user.exp <= nowS) {
      this.entries.delete(token);
      return undefined;
    }
    return user;
  }

  set(token: string, user: AuthUser): void {
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(token, user);
  }
}

/**
 * The gateway's internal tokens, one per user and role, signed again once
 * half their lifetime has passed (ingest accepts them until `exp`).
 */
export class InternalTokenSigner {
  private readonly issued = new Map<string, { token: string; renewAtS: number }>();

  constructor(
    private readonly secret: string,
    private readonly max = 10_000,
  ) {}

  async tokenFor(user: AuthUser, nowS = Math.floor(Date.now() / 1000)): Promise<string> {
    const key = `${user.userId}:${user.isAdmin ? "admin" : ""}`;
    const cached = this.issued.get(key);
    if (cached && cached.renewAtS > nowS) return cached.token;
    const token = await signInternalToken(user, this.secret);
    if (this.issued.size >= this.max) this.issued.clear();
    this.issued.set(key, { token, renewAtS: nowS + INTERNAL_TOKEN_TTL_S / 2 });
    return token;
  }
}

/** The demo user of local development: `bun run dev`'s printed token, the page's demo button and the CLI's minted tokens. */
export const DEMO_USER_ID = "64d0c0ffee0000000000d3e0";
