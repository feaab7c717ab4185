/**
 * Standard Webhooks signing: a secret is `whsec_` + base64 of 32 random
 * bytes; each attempt is signed with HMAC-SHA256 over
 * `<webhook-id>.<webhook-timestamp>.<body>` keyed with the secret's decoded
 * bytes, sent as `webhook-signature: v1,<base64>`.
 */
import { createHmac, randomBytes } from "node:crypto";

const SECRET_PREFIX = "whsec_";
const SECRET_BYTES = 32;

export function newSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString("base64");
}

/** The key bytes of a `whsec_` secret. */
export function secretKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error("a webhook secret starts with whsec_");
  return Buffer.from(secret.slice(SECRET_PREFIX.length), "base64");
}

export interface SignatureInput {
  /** The delivery's id, the same on every retry. */
  id: string;
  /** Unix seconds of this attempt. */
  timestamp: number;
  body: string;
  secret: string;
}

/** The three Standard Webhooks headers of one attempt. */
export function signatureHeaders(input: SignatureInput): Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string> {
  const signature = createHmac("sha256", secretKey(input.secret)).update(`${input.id}.${input.timestamp}.${input.body}`).digest("base64");
  return { "webhook-id": input.id, "webhook-timestamp": String(input.timestamp), "webhook-signature": `v1,${signature}` };
}
