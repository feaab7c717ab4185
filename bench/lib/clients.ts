/**
 * The benchmark's users: a signed JWT each and one socket.io-client
 * connection to the notifier, which timestamps every `asset_processed` it
 * receives. Uploads are matched to their event by asset id, whichever of
 * the 202 and the event arrives first.
 */
import { connectRecording, type RecordingSocket } from "../../test/helpers/sockets.ts";
import { newUserId, tokenFor } from "../../test/helpers/tokens.ts";

export interface BenchUser {
  id: string;
  token: string;
}

/** `count` users with fresh ObjectIds and HS256 tokens valid for a few hours. */
export async function makeUsers(count: number, secret: string): Promise<BenchUser[]> {
  const ids = Array.from({ length: count }, newUserId);
  return Promise.all(ids.map(async (id) => ({ id, token: await tokenFor(id, { secret, expiresInS: 6 * 3600 }) })));
}

export interface Arrival {
  /** performance.now() when the event arrived. */
  at: number;
  /** The user whose socket received it. */
  userId: string;
  status: string;
}

interface Expected {
  userId: string;
  sentAt: number;
  wake?: () => void;
}

/** One socket per user; records when each asset's event arrived, and anything that should not happen. */
export class EventTracker {
  private readonly sockets: RecordingSocket[] = [];
  private readonly arrivals = new Map<string, Arrival>();
  private readonly expected = new Map<string, Expected>();
  /** Events received more than once. */
  duplicates = 0;
  /** Events received on a socket of someone other than the asset's owner. */
  misdelivered = 0;

  static async connect(notifierUrl: string, users: BenchUser[]): Promise<EventTracker> {
    const tracker = new EventTracker();
    for (const user of users) {
      const recording = await connectRecording(notifierUrl, user.token);
      recording.socket.on("asset_processed", (event: { assetId: string; status: string }) => tracker.arrived(event, user.id));
      tracker.sockets.push(recording);
    }
    return tracker;
  }

  private arrived(event: { assetId: string; status: string }, userId: string): void {
    const at = performance.now();
    const known = this.expected.get(event.assetId);
    if (known && known.userId !== userId) {
      this.misdelivered++;
      return;
    }
    if (this.arrivals.has(event.assetId)) {
      this.duplicates++;
      return;
    }
    this.arrivals.set(event.assetId, { at, userId, status: event.status });
    known?.wake?.();
  }

  /** Registers an accepted upload of `userId`, sent at `sentAt`. */
  expect(assetId: string, userId: string, sentAt: number): void {
    const early = this.arrivals.get(assetId);
    if (early && early.userId !== userId) {
      // It reached someone else before the 202 told us whose it is.
      this.arrivals.delete(assetId);
      this.misdelivered++;
    }
    this.expected.set(assetId, { userId, sentAt });
  }

  /** Resolves with the event of an expected asset, or null after `timeoutMs`. */
  waitFor(assetId: string, timeoutMs: number): Promise<Arrival | null> {
    const entry = this.expected.get(assetId);
    const arrival = this.arrivals.get(assetId);
    if (arrival || !entry) return Promise.resolve(arrival ?? null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      entry.wake = () => {
        clearTimeout(timer);
        resolve(this.arrivals.get(assetId) ?? null);
      };
    });
  }

  /** Expected assets whose event has not arrived. */
  outstanding(): string[] {
    return [...this.expected.keys()].filter((id) => !this.arrivals.has(id));
  }

  /** Each arrived expected asset: when it was sent, when its event came, its status. */
  completions(): { sentAt: number; at: number; status: string }[] {
    const done = [];
    for (const [id, { sentAt }] of this.expected) {
      const arrival = this.arrivals.get(id);
      if (arrival) done.push({ sentAt, at: arrival.at, status: arrival.status });
    }
    return done;
  }

  /** Disconnections seen so far (a dropped socket can lose events). */
  disconnects(): number {
    return this.sockets.reduce((sum, s) => sum + s.disconnects.length, 0);
  }

  /** Forgets everything recorded (between scenarios on the same sockets). */
  reset(): void {
    this.arrivals.clear();
    this.expected.clear();
    this.duplicates = 0;
    this.misdelivered = 0;
  }

  close(): void {
    for (const socket of this.sockets) socket.close();
  }
}
