/**
 * Preloaded once for the whole test run: a MongoDB-wire server for every
 * test file. MONGO_URL, when set, is used instead (a real MongoDB, say);
 * otherwise FerretDB v1.24.2 starts on a free port with its data in a
 * temporary folder, and stops when the run ends.
 */
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, redisAnswers, startFerretDb, stopProcess } from "../scripts/lib/processes.ts";

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
if (!(await redisAnswers(redisUrl))) throw new Error(`tests need Redis at ${redisUrl} (set REDIS_URL)`);

if (process.env.MONGO_URL) {
  const url = new URL(process.env.MONGO_URL);
  url.pathname = "/";
  process.env.TEST_MONGO_BASE = url.toString().replace(/\/$/, "");
} else {
  const dataDir = mkdtempSync(join(tmpdir(), "pipeline-ferretdb-"));
  const port = await freePort();
  const ferret = await startFerretDb({ port, dataDir, quiet: true });
  process.env.TEST_MONGO_BASE = `mongodb://127.0.0.1:${port}`;
  const stop = async () => {
    await stopProcess(ferret, 5000);
    rmSync(dataDir, { recursive: true, force: true });
  };
  afterAll(stop);
  process.on("exit", () => ferret.kill("SIGKILL"));
}
