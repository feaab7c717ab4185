/**
 * Jobs per second of one ai-worker replica on the local path (local
 * background removal and analyzer) by its number of vision threads, with
 * the CPU each job costs.
 *
 *   bun bench/vision-threads.ts [--threads 1,2] [--jobs 40] [--concurrency 4] [--megapixels 0.8]
 *
 * For each VISION_THREADS value: a fresh stack (its own database server and
 * services on loopback ports), a warm-up, then `--jobs` uploads of a camera
 * photo with a printed label queued while the AI queue is paused; the queue
 * is resumed and timed until the last `asset_processed`. WORKER_CONCURRENCY
 * is the same in every run, so the threads are the only difference. CPU is
 * the ai-worker process's (every thread, from /proc) over that window, and
 * split by thread: the main thread (the event loop), the vision threads, and
 * the rest (Tesseract's threads, sharp's, the JIT and GC); the machine's busy
 * share over it says how much else ran (other services, and anything else on
 * a shared machine).
 */

/** CPU seconds by group of the process's threads since `before` (threads started meanwhile count from 0). */
function threadSplit(pid: number, before: Map<number, { name: string; ticks: number }>): Record<"main" | "vision" | "other", number> {
  const split = { main: 0, vision: 0, other: 0 };
  for (const [tid, { name, ticks }] of threadTicks(pid)) {
    const group = tid === pid ? "main" : name === "vision" ? "vision" : "other";
    split[group] += (ticks - (before.get(tid)?.ticks ?? 0)) / CLK_TCK;
  }
  return split;
}

import { parseArgs } from "node:util";
import { CLK_TCK, startCpuWindow, threadTicks } from "./lib/proc-stats.ts";
import { cameraPhoto, startWorkerStack } from "./lib/worker-stack.ts";

const { values: args } = parseArgs({
  options: {
    threads: { type: "string", default: "1,2" },
    jobs: { type: "string", default: "40" },
    concurrency: { type: "string", default: "4" },
    megapixels: { type: "string", default: "0.8" },
  },
});
const threadCounts = args.threads.split(",").map(Number);
const jobs = Number(args.jobs);
const width = Math.round(Math.sqrt((Number(args.megapixels) * 1e6 * 4) / 3));
const height = Math.round((width * 3) / 4);
const TIMEOUT_MS = 600_000;

const photo = await cameraPhoto(width, height);
console.log(
  `one ai-worker replica, local path: ${jobs} jobs of a ${width}x${height} JPEG (${(photo.length / 1024).toFixed(0)} KiB) queued at once, ` +
    `WORKER_CONCURRENCY ${args.concurrency}, ${navigator.hardwareConcurrency} cores on this machine`,
);
for (const threads of threadCounts) {
  const stack = await startWorkerStack({ VISION_THREADS: String(threads), WORKER_CONCURRENCY: args.concurrency });
  try {
    // Warm-up: each thread starts its OCR engine on first use.
    await stack.settled(await Promise.all(Array.from({ length: 2 * threads }, () => stack.upload(photo))), TIMEOUT_MS);
    await stack.pauseJobs();
    const ids = await Promise.all(Array.from({ length: jobs }, () => stack.upload(photo)));
    const pid = stack.worker.proc.pid;
    const threadsBefore = threadTicks(pid);
    const window = startCpuWindow([{ name: "ai-worker", pids: () => [pid] }]);
    await stack.resumeJobs();
    const failed = await stack.settled(ids, TIMEOUT_MS);
    const { wallMs, cpuMs, machineBusyShare } = window.stop();
    const split = threadSplit(pid, threadsBefore);
    const perJob = (seconds: number) => ((seconds / jobs) * 1000).toFixed(0);
    const cpuPerJob = (cpuMs["ai-worker"] ?? Number.NaN) / jobs / 1000;
    console.log(
      `VISION_THREADS ${threads}: ${(jobs / (wallMs / 1000)).toFixed(2)} jobs/s (${(wallMs / 1000).toFixed(1)} s), ` +
        `${cpuPerJob.toFixed(3)} CPU s per job in the ai-worker (${((cpuPerJob * jobs * 1000) / wallMs).toFixed(2)} cores busy; ` +
        `per job: main thread ${perJob(split.main)} ms, vision threads ${perJob(split.vision)} ms, others ${perJob(split.other)} ms), ` +
        `machine ${(machineBusyShare * 100).toFixed(0)} % busy${failed ? `; ${failed} jobs failed` : ""}`,
    );
  } finally {
    await stack.stop();
  }
}
