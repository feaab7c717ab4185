/** What every CLI command shares: errors without stack traces, the connection settings, token minting. */

import { ApiError, type Client, createClient } from "@pipeline/client";
import { objectIdSchema } from "@pipeline/contracts";
import { DEMO_USER_ID } from "@pipeline/runtime/auth";
import { sign } from "hono/jwt";

/** An error meant for the user: printed as one line, no stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

export const DEFAULT_API_URL = "http://127.0.0.1:3000";

/** Options shared by the commands that talk to the gateway. */
export const CONNECTION_OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export const CONNECTION_HELP = `  --url <url>      the gateway (default: $API_URL or ${DEFAULT_API_URL})
  --token <jwt>    the bearer token (default: $TOKEN, else one minted from $JWT_SECRET for a demo user)
  -h, --help       this help`;

/** Parses "90", "90s", "15m", "1h", "7d" into seconds. */
export function parseTtl(ttl: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(ttl.trim());
  if (!match || Number(match[1]) <= 0) throw new CliError(`--ttl must be a duration like 90s, 15m, 1h or 7d, not "${ttl}"`, 2);
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as "" | "s" | "m" | "h" | "d"];
  return Number(match[1]) * unit;
}

/** An HS256 token for `userId` signed with JWT_SECRET (for local use). */
export async function mintToken(userId: string, options: { admin?: boolean; ttlS?: number; secret?: string } = {}): Promise<string> {
  const secret = options.secret ?? process.env.JWT_SECRET;
  if (!secret) throw new CliError("JWT_SECRET is not set: it is needed to sign a token (use the gateway's secret)");
  if (!objectIdSchema.safeParse(userId).success) throw new CliError(`the user id must be a 24-hex ObjectId, not "${userId}"`, 2);
  const now = Math.floor(Date.now() / 1000);
  return sign({ sub: userId, iat: now, exp: now + (options.ttlS ?? 3600), ...(options.admin ? { role: "admin" } : {}) }, secret, "HS256");
}

/** The client for `--url`/`API_URL` and `--token`/`TOKEN` (or a token minted from JWT_SECRET). */
export async function clientFrom(values: { url?: string; token?: string }): Promise<Client> {
  const baseUrl = values.url ?? process.env.API_URL ?? DEFAULT_API_URL;
  try {
    new URL(baseUrl);
  } catch {
    throw new CliError(`not a URL: "${baseUrl}"`, 2);
  }
  let token = values.token ?? process.env.TOKEN;
  if (!token) {
    if (!process.env.JWT_SECRET) throw new CliError("no token: pass --token, set TOKEN, or set JWT_SECRET to mint one", 2);
    token = await mintToken(DEMO_USER_ID);
  }
  return createClient({ baseUrl, token, ...(process.env.NOTIFIER_URL ? { notifierUrl: process.env.NOTIFIER_URL } : {}) });
}

/** One line for an error, with a hint for the usual causes. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return `${error.message} (is the stack running? try \`bun run dev\`, or pass --url)`;
    if (error.status === 401) return `unauthorized (401): ${error.message} (check --token / TOKEN, or JWT_SECRET)`;
    return `${error.message} (${error.status} ${error.code})`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

/** `value (0.92)` for a detection, `-` when nothing was recognised. */
export function formatDetection(detection: { value: string | null; confidence: number } | undefined): string {
  if (!detection || detection.value === null) return "-";
  return `${detection.value} (${detection.confidence.toFixed(2)})`;
}
