/**
 * End-to-end latency and throughput of the whole pipeline on the local
 * providers: uploads through the gateway until `asset_processed` reaches the
 * owner's socket. Run on demand: `bun bench/pipeline.ts [--uploads 40]
 * [--workers 1] [--concurrency 4]`. Starts its own FerretDB and services on
 * loopback ports and stops them when done.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort, startFerretDb, stopProcess } from "../scripts/lib/processes.ts";
import { submitUpload } from "../test/helpers/api.ts";
import { productPhoto } from "../test/helpers/images.ts";
import { connectRecording } from "../test/helpers/sockets.ts";
import { Stack } from "../test/helpers/stack.ts";
import { newUserId, tokenFor } from "../test/helpers/tokens.ts";

const { values: args } = parseArgs({
  options: {
    uploads: { type: "string", default: "40" },
    workers: { type: "string", default: "1" },
    concurrency: { type: "string", default: "4" },
  },
});
const uploads = Number(args.uploads);
const workers = Number(args.workers);
const concurrency = Number(args.concurrency);

const dataDir = mkdtempSync(join(tmpdir(), "bench-ferret-"));
const ferretPort = await freePort();
const ferret = await startFerretDb({ port: ferretPort, dataDir, quiet: true });
process.env.TEST_MONGO_BASE = `mongodb://127.0.0.1:${ferretPort}`;
const stack = await Stack.start({ services: ["ingest", "ai-worker", "notifier", "gateway"] });
for (let i = 1; i < workers; i++) await stack.add("ai-worker");

try {
  const token = await tokenFor(newUserId());
  const socket = await connectRecording(stack.get("notifier").url, token);
  const photo = await productPhoto({ format: "jpeg", size: 1024 });
  // One warm-up run (the OCR worker starts lazily).
  const warm = await submitUpload(stack.gatewayUrl, token, photo, "sneaker", "image/jpeg");
  while (!socket.events.some((e) => e.assetId === warm.assetId)) await Bun.sleep(20);

  const latencies: number[] = [];
  const started = performance.now();
  let next = 0;
  async function client() {
    while (next < uploads) {
      next++;
      const t0 = performance.now();
      const { assetId } = await submitUpload(stack.gatewayUrl, token, photo, "sneaker", "image/jpeg");
      while (!socket.events.some((e) => e.assetId === assetId)) await Bun.sleep(5);
      latencies.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, client));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(0);
  const failed = socket.events.filter((e) => e.status !== "active").length;
  console.log(`pipeline: ${uploads} uploads of a 1024 px JPEG, ${concurrency} at a time, ${workers} worker replica(s) x WORKER_CONCURRENCY 2`);
  console.log(`upload -> asset_processed latency ms: p50 ${pct(50)}  p95 ${pct(95)}  p99 ${pct(99)}`);
  console.log(`throughput: ${(uploads / seconds).toFixed(2)} assets/s; failed outcomes: ${failed}`);
  socket.close();
} finally {
  await stack.stop();
  await stopProcess(ferret);
  rmSync(dataDir, { recursive: true, force: true });
}
