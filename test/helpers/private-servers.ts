/**
 * Servers a test owns alone, so it can stop and restart them without
 * disturbing anything else: a redis-server on its own port (persisting to
 * an append-only file, so a restart keeps the queue) and a FerretDB.
 */
import type { Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startFerretDb, stopProcess, waitForTcp } from "../../scripts/lib/processes.ts";

export interface RestartableServer {
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

export async function privateRedis(): Promise<RestartableServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "pipeline-redis-"));
  let proc: Subprocess | undefined;
  const server: RestartableServer = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      proc = Bun.spawn(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dir], { stdout: "ignore", stderr: "ignore" });
      await waitForTcp(port, 10_000, proc);
    },
    async stop() {
      if (proc) await stopProcess(proc, 5000);
    },
    async dispose() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

export async function privateFerretDb(database: string): Promise<RestartableServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "pipeline-ferret-"));
  let proc: Subprocess | undefined;
  const server: RestartableServer = {
    url: `mongodb://127.0.0.1:${port}/${database}`,
    async start() {
      proc = await startFerretDb({ port, dataDir, quiet: true });
    },
    async stop() {
      if (proc) await stopProcess(proc, 5000);
    },
    async dispose() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
