/**
 * The notifier replicas the gateway forwards /socket.io/ to (NOTIFIER_URL),
 * and which replica holds each Engine.IO session.
 *
 * Replicas: every host name of NOTIFIER_URL is resolved to all its addresses
 * (under compose, the service name `notifier` resolves to every replica of
 * `--scale notifier=N`), again at most every RESOLVE_EVERY_MS, so a replica
 * that starts or stops is seen within seconds.
 *
 * Sessions: HTTP long-polling sends each request of a session separately,
 * and only the replica that made the session knows it (Socket.IO's "Using
 * multiple nodes": without stickiness, 400 "Session ID unknown"). As
 * @socket.io/sticky does, a new session goes to the next replica in turn and
 * the `sid` it answers is remembered; every later request carrying that sid
 * goes to the same replica. The map is this gateway's own: in front of several
 * gateways, the balancer must send a client to one gateway (or the client
 * uses the websocket transport alone, which needs no stickiness).
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

const RESOLVE_EVERY_MS = 5000;
/** A session with no request for this long is forgotten (a polling client asks every PING_INTERVAL_MS, 25 s). */
export const SESSION_IDLE_MS = 2 * 60_000;

export type Resolve = (hostname: string) => Promise<string[]>;

const resolveAll: Resolve = async (hostname) => (await lookup(hostname, { all: true })).map((entry) => entry.address);

export interface NotifierPoolOptions {
  /** Base URLs, e.g. `http://notifier:3002`; each host name stands for all its addresses. */
  urls: string[];
  resolve?: Resolve;
  now?: () => number;
}

export class NotifierPool {
  private readonly urls: URL[];
  private readonly resolve: Resolve;
  private readonly now: () => number;
  private targets: string[] = [];
  private resolvedAt = Number.NEGATIVE_INFINITY;
  private resolving: Promise<string[]> | undefined;
  private next = 0;
  private readonly sessions = new Map<string, { target: string; seenAt: number }>();
  private sweptAt = 0;

  constructor(options: NotifierPoolOptions) {
    this.urls = options.urls.map((url) => new URL(url));
    this.resolve = options.resolve ?? resolveAll;
    this.now = options.now ?? Date.now;
  }

  /** Every replica's origin (`http://10.0.0.5:3002`), resolved again when older than RESOLVE_EVERY_MS. */
  async replicas(): Promise<string[]> {
    if (this.now() - this.resolvedAt < RESOLVE_EVERY_MS && this.targets.length) return this.targets;
    this.resolving ??= this.resolveTargets().finally(() => {
      this.resolving = undefined;
    });
    return this.resolving;
  }

  /** The replicas in the order a new session should try them: the next in turn first. */
  async forNewSession(): Promise<string[]> {
    const targets = await this.replicas();
    const start = this.next++ % Math.max(targets.length, 1);
    return [...targets.slice(start), ...targets.slice(0, start)];
  }

  /** The replica holding session `sid`, or undefined when this gateway does not know it. */
  holder(sid: string): string | undefined {
    const session = this.sessions.get(sid);
    if (!session) return undefined;
    session.seenAt = this.now();
    return session.target;
  }

  remember(sid: string, target: string): void {
    this.sweep();
    this.sessions.set(sid, { target, seenAt: this.now() });
  }

  forget(sid: string): void {
    this.sessions.delete(sid);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const now = this.now();
    if (now - this.sweptAt < SESSION_IDLE_MS / 2) return;
    this.sweptAt = now;
    for (const [sid, session] of this.sessions) if (now - session.seenAt > SESSION_IDLE_MS) this.sessions.delete(sid);
  }

  private async resolveTargets(): Promise<string[]> {
    const found = await Promise.all(
      this.urls.map(async (url) => {
        const host = url.hostname.replace(/^\[|\]$/g, "");
        if (isIP(host)) return [url.origin];
        try {
          return (await this.resolve(host)).map((address) => originOf(url, address));
        } catch {
          return []; // not resolvable now (no replica running): the others still serve
        }
      }),
    );
    const targets = [...new Set(found.flat())];
    // A failed resolution keeps the last known replicas rather than none.
    if (targets.length || !this.targets.length) this.targets = targets;
    this.resolvedAt = this.now();
    return this.targets;
  }
}

function originOf(url: URL, address: string): string {
  const copy = new URL(url.origin);
  copy.hostname = isIP(address) === 6 ? `[${address}]` : address;
  return copy.origin;
}
