/** Signed JWTs for test users, and fresh ObjectId user ids. */
import { sign } from "hono/jwt";
import { Types } from "mongoose";
import { TEST_JWT_SECRET } from "./stack.ts";

export const newUserId = () => new Types.ObjectId().toHexString();

export function tokenFor(userId: string, options: { expiresInS?: number; role?: string; secret?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign(
    { sub: userId, iat: now, exp: now + (options.expiresInS ?? 3600), ...(options.role ? { role: options.role } : {}) },
    options.secret ?? TEST_JWT_SECRET,
    "HS256",
  );
}

const HMAC_HASHES: Record<string, string> = { HS256: "SHA-256", HS384: "SHA-384", HS512: "SHA-512" };

/** A JWT with any header and payload, signed with the header's HMAC algorithm (or unsigned for alg "none"). */
export async function rawToken(header: Record<string, unknown>, payload: Record<string, unknown>, secret = TEST_JWT_SECRET): Promise<string> {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${encode(header)}.${encode(payload)}`;
  if (header.alg === "none") return `${unsigned}.`;
  const hash = HMAC_HASHES[String(header.alg)] ?? "SHA-256";
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash }, false, ["sign"]);
  const signature = Buffer.from(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(unsigned))).toString("base64url");
  return `${unsigned}.${signature}`;
}
