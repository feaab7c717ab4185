/**
 * Idle memory of the services: `bun bench/idle-rss.ts [--root <a checkout>]
 * [--idle-s 20] [--runs 3] [--services gateway,notifier]` (any of gateway,
 * notifier, ingest). Starts the embedded
 * database, then each service from `--root` (default this checkout; another
 * checkout measures another version) with nothing to do, and reads its RSS
 * (/proc/<pid>/status) after `--idle-s`. Prints the RSS of each run, MiB.
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { freePort, ROOT, stopProcess, waitForTcp } from "../scripts/lib/processes.ts";
import { startDatabase } from "./lib/database.ts";
import { rssBytes } from "./lib/proc-stats.ts";
import { REDIS_URL } from "./lib/redis.ts";

const { values } = parseArgs({
  options: {
    root: { type: "string", default: ROOT },
    "idle-s": { type: "string", default: "20" },
    runs: { type: "string", default: "3" },
    services: { type: "string", default: "gateway,notifier" },
  },
});
const root = resolve(String(values.root));
const database = await startDatabase();
try {
  for (const name of String(values.services).split(",")) {
    const readings: number[] = [];
    for (let run = 0; run < Number(values.runs); run++) {
      const port = await freePort();
      const env = {
        ...process.env,
        PORT: String(port),
        MONGO_URL: database.url("idle_rss"),
        REDIS_URL,
        JWT_SECRET: "bench-idle-rss-secret-0123456789",
        QUEUE_PREFIX: `idle${Date.now().toString(36)}`,
        INGEST_URL: "http://127.0.0.1:9",
        LOG_LEVEL: "warn",
      };
      const proc = Bun.spawn(["bun", "src/index.ts"], { cwd: join(root, "services", name), env, stdout: "ignore", stderr: "inherit" });
      try {
        await waitForTcp(port, 30_000, proc);
        await Bun.sleep(Number(values["idle-s"]) * 1000);
        readings.push(Math.round(((rssBytes(proc.pid) ?? 0) / 2 ** 20) * 10) / 10);
      } finally {
        await stopProcess(proc, 10_000);
      }
    }
    console.log(`${name}: idle RSS ${readings.join(", ")} MiB (${root === ROOT ? "this checkout" : root})`);
  }
} finally {
  await database.stop();
}
