/**
 * Redis for `bun run dev` and the tests, decided in one place: the Redis at
 * REDIS_URL (default redis://127.0.0.1:6379) when one answers there, else a
 * private redis-server on a free loopback port with its data under `.data/`,
 * which the caller stops when it ends. A Redis this code did not start is
 * only used, never configured, flushed or stopped.
 */

import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { MissingPrerequisite } from "./prerequisites.ts";
import { freePort, redisAnswers, shown, stopProcess } from "./processes.ts";

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/**
 * Redis settings the pipeline is sized for (compose.yaml's Redis has them too): a hash whose values are all
 * at most 1024 bytes stays in the compact listpack encoding. A BullMQ job is a hash of about a dozen fields
 * whose data and options are 150-300 bytes each: above Redis's default of 64 it becomes a hash table,
 * 1,320 bytes a job instead of 744 (a completed AI job is kept a day). Lookups in a dozen fields stay cheap.
 */
export const REDIS_TUNING = ["--hash-max-listpack-value", "1024"];

export interface PrivateRedis {
  url: string;
  pid: number;
  dataDir: string;
  /** SIGTERM (Redis writes its append-only file and exits), then removes `dataDir` if it was temporary. */
  stop(): Promise<void>;
  /** At process exit, when nothing can be awaited. */
  kill(): void;
}

export interface RedisOptions {
  /** Where the private server keeps its data (created when needed). */
  dataDir: string;
  /** Keep the data across runs (append-only file, `bun run dev`); otherwise keep nothing and remove `dataDir` on stop (tests). */
  persist?: boolean;
  progress?: (line: string) => void;
}

/** The Redis to use: `url`'s (default DEFAULT_REDIS_URL) if it answers, else a private one started now (`started`). */
export async function provideRedis(url: string | undefined, options: RedisOptions): Promise<{ url: string; started?: PrivateRedis }> {
  const wanted = url || DEFAULT_REDIS_URL;
  if (await redisAnswers(wanted)) return { url: wanted };
  const started = await startPrivateRedis(options);
  options.progress?.(`nothing answers at ${wanted}: started a private redis-server at ${started.url} (data in ${shown(started.dataDir)})`);
  return { url: started.url, started };
}

/** A redis-server of our own on a free port of 127.0.0.1, its data in `dataDir`. */
export async function startPrivateRedis(options: RedisOptions): Promise<PrivateRedis> {
  const bin = Bun.which("redis-server");
  if (!bin) throw new MissingPrerequisite("redis-server");
  const { dataDir } = options;
  mkdirSync(dataDir, { recursive: true });
  const pidFile = join(dataDir, "redis.pid");
  const logFile = join(dataDir, "redis.log");
  const leftover = livePid(pidFile);
  if (leftover) {
    throw new Error(`a redis-server (pid ${leftover}) started by an earlier run still uses ${shown(dataDir)}: stop it (kill ${leftover}) and try again`);
  }
  const persistence = options.persist ? ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""] : ["--appendonly", "no", "--save", ""];

  // A port found free can be taken before redis-server binds it: then it exits, and another port is tried.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "yes", "--dir", dataDir, "--pidfile", pidFile, "--logfile", logFile];
    const proc = Bun.spawn([bin, ...args, ...persistence, ...REDIS_TUNING], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    const url = `redis://127.0.0.1:${port}`;
    if (await answersBeforeExit(url, proc)) return handle(url, proc, options);
    await stopProcess(proc, 1000);
    if (attempt >= 3) throw new Error(`redis-server did not start (log: ${logFile}):\n${tail(logFile)}`);
  }
}

function handle(url: string, proc: Subprocess, options: RedisOptions): PrivateRedis {
  return {
    url,
    pid: proc.pid,
    dataDir: options.dataDir,
    async stop() {
      await stopProcess(proc, 10_000);
      if (!options.persist) rmSync(options.dataDir, { recursive: true, force: true });
    },
    kill() {
      if (proc.exitCode === null) proc.kill("SIGKILL");
    },
  };
}

async function answersBeforeExit(url: string, proc: Subprocess): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && proc.exitCode === null) {
    if (await redisAnswers(url)) return true;
    await Bun.sleep(50);
  }
  return false;
}

/** The pid in `pidFile` if that process is alive and is a redis-server. */
function livePid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  const command = existsSync(`/proc/${pid}/cmdline`)
    ? readFileSync(`/proc/${pid}/cmdline`, "utf8")
    : Bun.spawnSync(["ps", "-p", String(pid), "-o", "command="]).stdout.toString();
  return command.includes("redis-server") ? pid : undefined;
}

function tail(file: string): string {
  return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").slice(-3).join("\n") : "(no log)";
}
