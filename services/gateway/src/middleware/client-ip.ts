/**
 * Who is on the other end of a request: the Bun server that accepted it
 * (Hono's Bun adapter passes it as the context's env) and the client's IP.
 *
 * The client IP is the socket's remote address. X-Forwarded-For is read only
 * when TRUST_PROXY_HOPS says how many proxies of ours stand in front of the
 * gateway: each appends the address it saw, so the client is the entry that
 * many places from the right. Anything left of it was written by the client
 * and could be anything, so it is never used.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { Server } from "bun";
import type { Context } from "hono";

/** The Bun server of this request; undefined under `app.request()` (unit tests), where there is no socket. */
export function bunServer(c: Context): Server<unknown> | undefined {
  const env = c.env as Partial<Server<unknown>> | undefined;
  return typeof env?.requestIP === "function" && typeof env.timeout === "function" ? (env as Server<unknown>) : undefined;
}

export function clientIp(c: Context, trustProxyHops: number): string {
  const socketAddress = bunServer(c)?.requestIP(c.req.raw)?.address ?? "unknown";
  if (trustProxyHops <= 0) return socketAddress;
  const forwarded = (c.req.header("x-forwarded-for") ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  const candidate = forwarded[forwarded.length - trustProxyHops];
  // Fewer entries than proxies: the request did not come through all of them.
  return candidate && (isIPv4(candidate) || isIPv6(candidate)) ? candidate : socketAddress;
}

/**
 * The key an address is limited under: an IPv4 address as is (IPv4-mapped
 * IPv6 too), an IPv6 address by its /64, the block one subscriber gets, so
 * rotating through it does not buy a new budget.
 */
export function ipLimitKey(address: string): string {
  const mapped = address.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i)?.[1];
  if (mapped) return mapped;
  if (!isIPv6(address)) return address;
  const [head = "", tail = ""] = address.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = address.includes("::") ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}
