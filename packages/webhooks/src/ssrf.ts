/**
 * The guard in front of every webhook target (server-side request forgery):
 * HTTPS only, and every address the name resolves to must be public unicast:
 * never loopback, private, link-local (cloud metadata 169.254.169.254),
 * CGNAT, unique-local (fd00:ec2::254), multicast, unspecified or reserved.
 * It resolves and checks, and never connects. `allowPrivate` (development,
 * tests) lifts both rules.
 *
 * Residual risk, accepted: the caller fetches by name after this check, so a
 * name whose DNS answer changes between our lookup and the fetch's own lookup
 * (DNS rebinding, a window of milliseconds) could still reach a refused
 * address. Pinning the checked address would need TLS to a bare IP with the
 * name as SNI, which fetch does not offer.
 */
import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";

export interface ResolvedAddress {
  address: string;
  family: number;
}
/** Resolves a host name to all its addresses (the shape of `dns.promises.lookup(host, {all: true})`). */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (host) => lookup(host, { all: true });

export interface TargetPolicy {
  /** Allows plain HTTP and any address (WEBHOOK_ALLOW_PRIVATE). */
  allowPrivate: boolean;
  resolve?: Resolver;
}

/** The target is refused: the message says why, for the registering user or the delivery log. */
export class UnsafeTargetError extends Error {
  override name = "UnsafeTargetError";
}

/** The target's name did not resolve (may be temporary: registration accepts it, a delivery attempt fails). */
export class UnresolvableTargetError extends Error {
  override name = "UnresolvableTargetError";
}

// IPv6 global unicast (RFC 4291); ipaddr.js calls every address outside its special ranges "unicast",
// including the deprecated IPv4-compatible ::/96, so the global prefix is required as well.
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3");

const RANGE_WORDS: Record<string, string> = {
  linkLocal: "link-local",
  carrierGradeNat: "carrier-grade NAT",
  uniqueLocal: "unique-local",
  private: "private",
  loopback: "loopback",
  unspecified: "unspecified",
  multicast: "multicast",
  broadcast: "broadcast",
};

/** Why an address may not be a webhook target (a range in words), or null when it may. IPv4-mapped IPv6 is judged as the IPv4 it carries. */
export function refusedRange(address: string): string | null {
  if (!ipaddr.isValid(address)) return "not an IP address";
  const ip = ipaddr.process(address);
  const range = ip.range();
  if (range !== "unicast") return RANGE_WORDS[range] ?? `special-purpose (${range})`;
  if (ip.kind() === "ipv6" && !ip.match(GLOBAL_UNICAST_V6)) return "special-purpose (not global unicast)";
  return null;
}

/** The host of a URL as an IP literal (brackets of IPv6 removed), or null when it is a name. */
function ipLiteral(hostname: string): string | null {
  const bare = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) ? bare : null;
}

async function resolveAll(hostname: string, resolve: Resolver): Promise<string[]> {
  let answers: ResolvedAddress[];
  try {
    answers = await resolve(hostname);
  } catch (error) {
    throw new UnresolvableTargetError(`${hostname} does not resolve (${(error as Error).message})`);
  }
  if (answers.length === 0) throw new UnresolvableTargetError(`${hostname} does not resolve (no addresses)`);
  return answers.map((answer) => answer.address);
}

/**
 * Checks a target URL without connecting to it: throws UnsafeTargetError (refused) or
 * UnresolvableTargetError (its name does not resolve now); returns the parsed URL.
 */
export async function checkTarget(target: string, policy: TargetPolicy): Promise<URL> {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new UnsafeTargetError("the webhook URL is not a valid absolute URL");
  }
  const allowedProtocols = policy.allowPrivate ? ["https:", "http:"] : ["https:"];
  if (!allowedProtocols.includes(url.protocol)) throw new UnsafeTargetError(`the webhook URL must use https (got ${url.protocol.slice(0, -1)})`);
  if (policy.allowPrivate) return url;
  const literal = ipLiteral(url.hostname);
  for (const address of literal ? [literal] : await resolveAll(url.hostname, policy.resolve ?? systemResolver)) {
    const refused = refusedRange(address);
    if (!refused) continue;
    const where = literal ? `${address} is` : `${url.hostname} resolves to ${address},`;
    throw new UnsafeTargetError(`the webhook URL's host ${where} a ${refused} address; only public addresses may receive webhooks`);
  }
  return url;
}
