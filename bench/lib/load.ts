/**
 * The load generator. Every upload is the same multipart request
 * (test/helpers/api.ts `upload`: `image` + `category`), sent either on a
 * fixed schedule (open loop: request i leaves at t0 + i/rate whether or not
 * earlier ones were answered) or by N clients one after another (closed
 * loop, for ceilings and saturation).
 */
import { upload } from "../../test/helpers/api.ts";
import { BENCH_IMAGE } from "./image.ts";

export interface SentUpload {
  /** performance.now() when the request left. */
  sentAt: number;
  status: number;
  /** The 202's asset id. */
  assetId?: string;
  /** Network error, or the body of a refusal. */
  error?: string;
}

/** POSTs the benchmark image to `baseUrl`/api/assets/analyze-queue. */
export async function sendUpload(baseUrl: string, token: string, image: Uint8Array, category = "sneaker"): Promise<SentUpload> {
  const sentAt = performance.now();
  try {
    const response = await upload(baseUrl, token, { image, category, filename: BENCH_IMAGE.filename, type: BENCH_IMAGE.contentType });
    if (response.status !== 202) return { sentAt, status: response.status, error: (await response.text()).slice(0, 200) };
    const body = (await response.json()) as { assetId?: string };
    return { sentAt, status: response.status, ...(body.assetId ? { assetId: body.assetId } : {}) };
  } catch (error) {
    return { sentAt, status: 0, error: (error as Error).message };
  }
}

export interface ScheduleLag {
  /** How late the generator fired requests behind their schedule, ms (0 when it kept up). */
  p99Ms: number;
  maxMs: number;
}

/**
 * Open loop: calls `fire(i)` for i = 0 … rate×duration−1 at t0 + i/rate,
 * without waiting for earlier calls; resolves when every call has settled.
 */
export async function openLoop<T>(
  ratePerS: number,
  durationS: number,
  fire: (i: number) => Promise<T>,
): Promise<{ results: T[]; lag: ScheduleLag; startedAt: number }> {
  const count = Math.round(ratePerS * durationS);
  const intervalMs = 1000 / ratePerS;
  const pending: Promise<T>[] = [];
  const lags: number[] = [];
  const startedAt = performance.now();
  for (let i = 0; i < count; i++) {
    const due = startedAt + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0.5) await Bun.sleep(wait);
    lags.push(Math.max(0, performance.now() - due));
    pending.push(fire(i));
  }
  const results = await Promise.all(pending);
  const summary = summarize(lags);
  return { results, lag: { p99Ms: summary.p99, maxMs: summary.max }, startedAt };
}

/** Closed loop: `clients` loops each calling `task(client)` again as soon as it settles, while `running()` holds. */
export async function closedLoop(clients: number, running: () => boolean, task: (client: number) => Promise<unknown>): Promise<void> {
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      while (running()) await task(client);
    }),
  );
}

export interface Summary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles (ms). */
export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]! : 0);
  return { count: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: sorted.at(-1) ?? 0 };
}
