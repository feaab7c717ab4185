/**
 * Starting and stopping the stack's processes, shared by `bun run dev` and
 * the tests: FerretDB (the embedded MongoDB-wire server) and the services.
 * (Redis: ./redis.ts; the embedded database: ./embedded-db.ts.)
 */

import { mkdirSync } from "node:fs";
import { join, relative } from "node:path";
import type { Subprocess } from "bun";
import { MissingPrerequisite } from "./prerequisites.ts";

export const ROOT = join(import.meta.dir, "..", "..");
export const FERRETDB_BIN = join(ROOT, ".data", "bin", "ferretdb");
export const SERVICES = ["ingest", "ai-worker", "notifier", "gateway"] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface FerretDbBuildOptions {
  /** Progress lines (default: console.log); the build's own output goes to this process's stderr. */
  progress?: (line: string) => void;
  /** Aborting stops the build (Ctrl-C during `bun run dev`). */
  signal?: AbortSignal;
}

/** Builds FerretDB v1.24.2 with Go (scripts/install-ferretdb.sh) if this checkout has no binary yet. */
export async function ensureFerretDb(options: FerretDbBuildOptions = {}): Promise<void> {
  if (await Bun.file(FERRETDB_BIN).exists()) return;
  if (!Bun.which("go")) throw new MissingPrerequisite("go", "or set MONGO_URL to use another MongoDB");
  const progress = options.progress ?? ((line: string) => console.log(line));
  progress("building FerretDB v1.24.2 into .data/bin (first run only, about a minute)…");
  const started = Date.now();
  // In its own process group, so that an abort stops the script and the `go` it runs, and nothing is left compiling.
  const build = Bun.spawn(["bash", join(ROOT, "scripts", "install-ferretdb.sh")], { stdin: "ignore", stdout: "inherit", stderr: "inherit", detached: true });
  const abort = () => {
    try {
      process.kill(-build.pid, "SIGTERM");
    } catch {
      // already exited
    }
  };
  options.signal?.addEventListener("abort", abort);
  const ticker = setInterval(() => progress(`still building FerretDB (${Math.round((Date.now() - started) / 1000)} s)…`), 15_000);
  try {
    const code = await build.exited;
    if (code === 3) throw new MissingPrerequisite("go");
    if (code !== 0) throw new Error(`could not build FerretDB (scripts/install-ferretdb.sh exited with ${code}); set MONGO_URL to use another MongoDB`);
  } finally {
    clearInterval(ticker);
    options.signal?.removeEventListener("abort", abort);
  }
  progress(`FerretDB built in ${Math.round((Date.now() - started) / 1000)} s`);
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

/** `bunFlags`: flags for bun itself, before the entry point (the benchmark's `--cpu-prof`). */
export function spawnService(name: ServiceName, env: Record<string, string | undefined>, options: { quiet?: boolean; bunFlags?: string[] } = {}): Subprocess {
  return Bun.spawn(["bun", ...(options.bunFlags ?? []), "src/index.ts"], {
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
  client.on("error", () => {}); // a refused connection is an answer here, not an error to print
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

/** Whether nothing listens on 127.0.0.1:`port`. */
export function portIsFree(port: number): boolean {
  try {
    Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
    return true;
  } catch {
    return false;
  }
}

/** A path as the user would type it: relative to the working directory when inside it. */
export function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") ? rel : path;
}

/**
 * Starts a service on `fixedPort` or a free port and waits for its /healthz.
 * A port picked as free can be taken before the service binds it (other
 * runs start servers too), so that is retried on another; the last attempt
 * shows the service's output, so a service that cannot start says why.
 */
export async function startServiceOnFreePort(
  name: ServiceName,
  env: Record<string, string | undefined>,
  options: { fixedPort?: number; quiet?: boolean; label?: string; bunFlags?: string[] } = {},
): Promise<{ proc: Subprocess; port: number; url: string }> {
  for (let attempt = 1; ; attempt++) {
    const port = options.fixedPort ?? (await freePort());
    const spawnOptions = { quiet: (options.quiet ?? true) && attempt < 3, ...(options.bunFlags ? { bunFlags: options.bunFlags } : {}) };
    const proc = spawnService(name, { ...env, PORT: String(port) }, spawnOptions);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitForHttp(`${url}/healthz`, 30_000, proc);
      return { proc, port, url };
    } catch (error) {
      await stopProcess(proc, 1000);
      if (attempt >= 3) throw new Error(`${options.label ?? name} did not start: ${(error as Error).message}`);
    }
  }
}
