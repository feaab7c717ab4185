/**
 * A user's socket under chaos, following the client pattern of docs/api-and-events.md: listen
 * for `asset_processed`, and on every connect that did not resume the session
 * catch up with `GET /api/assets?updatedSince=`. Unlike the pattern in the
 * docs (api-and-events.md) and @pipeline/client's `subscribe` (which record each outcome once
 * and give up on a failed catch-up), it keeps everything a test needs to
 * count: how each asset's final state became known (live or caught up),
 * every live event received twice, and catch-ups retried because ingest or
 * Redis was down at that moment. `since` only advances once every page of a
 * catch-up was read, so a catch-up cut short is redone whole.
 */
import { ASSET_PROCESSED_EVENT, type AssetProcessedEvent, type AssetProgressEvent } from "@pipeline/contracts/events";
import { io, type Socket } from "socket.io-client";

export interface Knowledge {
  status: string;
  /** Date.now() when this socket first learned the final state. */
  at: number;
  via: "live" | "catch-up";
}

export interface CatchUp {
  startedAt: number;
  endedAt: number;
  /** Attempts it took (more than 1: the API answered an error, e.g. 503 while ingest was down). */
  attempts: number;
  found: number;
}

export interface ChaosSocketOptions {
  user: number;
  userId: string;
  slot: number;
  notifierUrl: string;
  apiUrl: string;
  token: string;
  transports: ("websocket" | "polling")[];
  /** ISO time of the first catch-up's start. */
  since: string;
}

const FINAL = new Set(["active", "failed"]);

export class ChaosSocket {
  readonly socket: Socket;
  /** Each asset's final state, as first learned. */
  readonly known = new Map<string, Knowledge>();
  /** Live `asset_processed` events per asset (more than 1: a duplicate). */
  readonly liveCounts = new Map<string, number>();
  /** A later live event or catch-up that disagreed with what was known. */
  readonly conflicts: { assetId: string; known: string; got: string }[] = [];
  /** `asset_progress` received after that asset's final event on this socket (docs/api-and-events.md says none follows it). */
  readonly progressAfterFinal: { assetId: string; stage: string; msAfterFinal: number }[] = [];
  readonly connects: { at: number; recovered: boolean }[] = [];
  readonly disconnects: { at: number; reason: string }[] = [];
  readonly catchUps: CatchUp[] = [];
  private since: string;
  private closed = false;

  constructor(readonly options: ChaosSocketOptions) {
    this.since = options.since;
    this.socket = io(options.notifierUrl, {
      auth: { token: options.token },
      transports: options.transports,
      forceNew: true,
      reconnection: true,
      reconnectionDelay: 300,
      reconnectionDelayMax: 2000,
      randomizationFactor: 0.5,
    });
    this.socket.on(ASSET_PROCESSED_EVENT, (event: AssetProcessedEvent) => {
      this.liveCounts.set(event.assetId, (this.liveCounts.get(event.assetId) ?? 0) + 1);
      this.learn(event.assetId, event.status, "live");
    });
    this.socket.on("asset_progress", (event: AssetProgressEvent) => {
      const known = this.known.get(event.assetId);
      if (known?.via === "live") this.progressAfterFinal.push({ assetId: event.assetId, stage: event.stage, msAfterFinal: Date.now() - known.at });
    });
    this.socket.on("connect", () => {
      const recovered = this.socket.recovered;
      this.connects.push({ at: Date.now(), recovered });
      if (!recovered) void this.catchUp();
    });
    this.socket.on("disconnect", (reason) => this.disconnects.push({ at: Date.now(), reason }));
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  /** When this socket was connected again after `at` (the first connect after its first disconnect at or after `at`), if it was cut then. */
  reconnectedAfter(at: number, within: number): number | null {
    const cut = this.disconnects.find((d) => d.at >= at && d.at <= at + within);
    if (!cut) return null;
    return this.connects.find((c) => c.at >= cut.at)?.at ?? Number.POSITIVE_INFINITY;
  }

  private learn(assetId: string, status: string, via: Knowledge["via"]): void {
    const known = this.known.get(assetId);
    if (!known) this.known.set(assetId, { status, at: Date.now(), via });
    else if (known.status !== status) this.conflicts.push({ assetId, known: known.status, got: status });
  }

  /** Retries until it succeeds: a reconnect often comes while the API is down too (ingest or Redis restarting). */
  private async catchUp(): Promise<void> {
    const entry: CatchUp = { startedAt: Date.now(), endedAt: 0, attempts: 0, found: 0 };
    while (!this.closed) {
      entry.attempts++;
      try {
        entry.found = await this.catchUpOnce();
        entry.endedAt = Date.now();
        this.catchUps.push(entry);
        return;
      } catch {
        await Bun.sleep(500);
      }
    }
  }

  private async catchUpOnce(): Promise<number> {
    let newest = this.since;
    let found = 0;
    let cursor: string | null = null;
    do {
      const url = new URL("/api/assets", this.options.apiUrl);
      url.searchParams.set("updatedSince", this.since);
      url.searchParams.set("limit", "100");
      if (cursor) url.searchParams.set("cursor", cursor);
      const response = await fetch(url, { headers: { authorization: `Bearer ${this.options.token}` }, signal: AbortSignal.timeout(10_000) });
      if (!response.ok) throw new Error(`catch-up answered ${response.status}`);
      const page = (await response.json()) as { items: { id: string; status: string; updatedAt: string }[]; nextCursor: string | null };
      for (const asset of page.items) {
        if (FINAL.has(asset.status)) {
          found++;
          this.learn(asset.id, asset.status, "catch-up");
        }
        if (asset.updatedAt > newest) newest = asset.updatedAt;
      }
      cursor = page.nextCursor;
    } while (cursor);
    this.since = newest;
    return found;
  }

  close(): void {
    this.closed = true;
    this.socket.close();
  }
}
