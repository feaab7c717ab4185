/**
 * How long the ai-worker's event loop is held up by image work: its slowest
 * `/healthz` answer while it processes large photos. Lock renewals, stall
 * checks and shutdown wait on the same loop, so this is how late they can be.
 *
 *   bun bench/event-loop.ts [--photos 4] [--megapixels 12] [--rounds 3] [--threads N]
 *
 * Starts its own database server and services on loopback ports (local providers,
 * one ai-worker replica; `--threads` sets its VISION_THREADS), uploads
 * `--photos` photos at once through the gateway and polls the ai-worker's
 * /healthz every 10 ms (one request at a time) until every photo's
 * `asset_processed` has arrived; prints the slowest answer of each round.
 */
import { parseArgs } from "node:util";
import { cameraPhoto, startWorkerStack } from "./lib/worker-stack.ts";

const { values: args } = parseArgs({
  options: {
    photos: { type: "string", default: "4" },
    megapixels: { type: "string", default: "12" },
    rounds: { type: "string", default: "3" },
    threads: { type: "string" },
  },
});
const photos = Number(args.photos);
const rounds = Number(args.rounds);
/** 4:3, as most cameras shoot. */
const width = Math.round(Math.sqrt((Number(args.megapixels) * 1e6 * 4) / 3));
const height = Math.round((width * 3) / 4);
const POLL_MS = 10;
const ROUND_TIMEOUT_MS = 300_000;

/** Polls `url` every POLL_MS (or at once after a slower answer) until `stop` fires; returns each answer's latency in ms. */
async function pollHealth(url: string, stop: AbortSignal): Promise<number[]> {
  const latencies: number[] = [];
  while (!stop.aborted) {
    const started = performance.now();
    const response = await fetch(url);
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`/healthz answered ${response.status}`);
    const took = performance.now() - started;
    latencies.push(took);
    if (took < POLL_MS) await Bun.sleep(POLL_MS - took);
  }
  return latencies;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

const photo = await cameraPhoto(width, height);
const small = await cameraPhoto(1024, 768);
const workerEnv: Record<string, string> = args.threads === undefined ? {} : { VISION_THREADS: args.threads };
const stack = await startWorkerStack(workerEnv);
try {
  // Warm-up: the OCR engine starts on first use (in each thread, where there are threads).
  await stack.settled(await Promise.all(Array.from({ length: photos }, () => stack.upload(small))), ROUND_TIMEOUT_MS);
  console.log(
    `ai-worker /healthz while it processes ${photos} photos of ${width}x${height} (${(photo.length / 2 ** 20).toFixed(1)} MiB JPEG) at once; ` +
      `VISION_THREADS ${args.threads ?? "(default)"}, polled every ${POLL_MS} ms`,
  );
  const maxima: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const stop = new AbortController();
    const polling = pollHealth(`${stack.worker.url}/healthz`, stop.signal);
    const started = performance.now();
    const ids = await Promise.all(Array.from({ length: photos }, () => stack.upload(photo)));
    const failed = await stack.settled(ids, ROUND_TIMEOUT_MS);
    const seconds = (performance.now() - started) / 1000;
    stop.abort();
    const latencies = (await polling).sort((a, b) => a - b);
    const max = latencies[latencies.length - 1]!;
    maxima.push(max);
    console.log(
      `round ${round}: ${seconds.toFixed(1)} s, ${latencies.length} answers: max ${max.toFixed(0)} ms, p99 ${quantile(latencies, 0.99).toFixed(0)} ms, ` +
        `p50 ${quantile(latencies, 0.5).toFixed(1)} ms${failed ? `; ${failed} photos failed` : ""}`,
    );
  }
  console.log(`slowest /healthz answer: ${Math.max(...maxima).toFixed(0)} ms (rounds: ${maxima.map((m) => m.toFixed(0)).join(", ")} ms)`);
} finally {
  await stack.stop();
}
