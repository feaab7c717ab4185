/**
 * Servers a test owns alone, so it can stop and restart them without
 * disturbing anything else: a redis-server on its own port (persisting to
 * an append-only file, so a restart keeps the queue) and a FerretDB.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, startFerretDb, stopProcess, waitForTcp } from "../../scripts/lib/processes.ts";

export interface RestartableServer {
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

/** A server on `port` with its data in a temporary folder, started by `launch`; kept across stop/start. */
async function restartable(
  prefix: string,
  url: (port: number) => string,
  launch: (port: number, dir: string) => Promise<Subprocess>,
): Promise<RestartableServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let proc: Subprocess | undefined;
  const server: RestartableServer = {
    url: url(port),
    async start() {
      proc = await launch(port, dir);
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

export function privateRedis(): Promise<RestartableServer> {
  return restartable(
    "pipeline-redis-",
    (port) => `redis://127.0.0.1:${port}`,
    async (port, dir) => {
      const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dir];
      const proc = Bun.spawn(["redis-server", ...args], { stdout: "ignore", stderr: "ignore" });
      await waitForTcp(port, 10_000, proc);
      return proc;
    },
  );
}

export function privateFerretDb(database: string): Promise<RestartableServer> {
  return restartable(
    "pipeline-ferret-",
    (port) => `mongodb://127.0.0.1:${port}/${database}`,
    (port, dataDir) => startFerretDb({ port, dataDir, quiet: true }),
  );
}
