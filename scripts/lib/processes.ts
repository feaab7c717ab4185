/**
 * Starting and stopping the stack's processes, shared by `bun run dev` and
 * the tests: FerretDB (the embedded MongoDB-wire server) and the services.
 */
import type { Subprocess } from "bun";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");
export const FERRETDB_BIN = join(ROOT, ".data", "bin", "ferretdb");
export const SERVICES = ["ingest", "ai-worker", "notifier", "gateway"] as const;
export type ServiceName = (typeof SERVICES)[number];
export const DEFAULT_PORTS: Record<ServiceName, number> = { gateway: 3000, ingest: 3001, notifier: 3002, "ai-worker": 3003 };

/** Builds FerretDB v1.24.2 with Go if this checkout has no binary yet. */
export async function ensureFerretDb(): Promise<void> {
  if (await Bun.file(FERRETDB_BIN).exists()) return;
  const build = Bun.spawn(["bash", join(ROOT, "scripts", "install-ferretdb.sh")], { stdout: "inherit", stderr: "inherit" });
  if ((await build.exited) !== 0) throw new Error("could not build FerretDB (needs Go); set MONGO_URL to use another MongoDB");
}

/** Starts FerretDB with the SQLite handler, its data under `dataDir`. */
export async function startFerretDb(options: { port: number; dataDir: string; quiet?: boolean }): Promise<Subprocess> {
  await ensureFerretDb();
  mkdirSync(options.dataDir, { recursive: true });
  const proc = Bun.spawn(
    [
      FERRETDB_BIN,
      "--handler=sqlite",
      `--sqlite-url=file:${options.dataDir}/`,
      `--listen-addr=127.0.0.1:${options.port}`,
      "--telemetry=disable",
      `--state-dir=${options.dataDir}`,
      "--debug-addr=-",
      "--log-level=error",
    ],
    { stdout: options.quiet ? "ignore" : "inherit", stderr: options.quiet ? "ignore" : "inherit" },
  );
  await waitForTcp(options.port, 20_000, proc);
  return proc;
}

export function spawnService(name: ServiceName, env: Record<string, string | undefined>, options: { quiet?: boolean } = {}): Subprocess {
  return Bun.spawn(["bun", "src/index.ts"], {
    cwd: join(ROOT, "services", name),
    env: { ...process.env, ...env } as Record<string, string>,
    stdout: options.quiet ? "ignore" : "inherit",
    stderr: options.quiet ? "ignore" : "inherit",
  });
}

export async function waitForTcp(port: number, timeoutMs: number, proc?: Subprocess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc?.exitCode !== null && proc?.exitCode !== undefined) throw new Error(`process exited with ${proc.exitCode} before listening on ${port}`);
    try {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      socket.end();
      return;
    } catch {
      await Bun.sleep(100);
    }
  }
  throw new Error(`nothing listening on port ${port} after ${timeoutMs} ms`);
}

export async function waitForHttp(url: string, timeoutMs: number, proc?: Subprocess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc?.exitCode !== null && proc?.exitCode !== undefined) throw new Error(`process exited with ${proc.exitCode} before ${url} answered`);
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not up yet
    }
    await Bun.sleep(100);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

/** SIGTERM, then SIGKILL if it is still running after `graceMs`. */
export async function stopProcess(proc: Subprocess, graceMs = 10_000): Promise<number | null> {
  if (proc.exitCode !== null) return proc.exitCode;
  proc.kill("SIGTERM");
  const exited = await Promise.race([proc.exited, Bun.sleep(graceMs).then(() => null)]);
  if (exited === null) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
  return proc.exitCode;
}

export async function redisAnswers(url: string): Promise<boolean> {
  const { Redis } = await import("ioredis");
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = server;
  server.stop(true);
  return port;
}
