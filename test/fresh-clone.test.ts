/**
 * The README's fresh-machine path, end to end: a fresh clone of this
 * repository's committed HEAD in a temporary folder (so no .data/), then the
 * README's `bun install && bun run dev` with REDIS_URL pointing at a port where
 * nothing listens, so that `bun run dev` starts its own redis-server, builds
 * FerretDB and initialises the database. Once /readyz answers 200 on all four
 * services, the `curl` it printed uploads the sample image and the Asset must
 * become active; then SIGINT (Ctrl-C) must stop it with status 0, leaving no
 * process behind. A second start in the same clone (warm) must do the same.
 * It prints the time from clone to ready (cold) and from start to ready (warm).
 *
 * The ports are free ones (GATEWAY_PORT, INGEST_PORT, NOTIFIER_PORT,
 * WORKER_PORT, DB_PORT), so a developer's running stack is not disturbed. As a
 * second checkout on a real machine does, the clone reuses Bun's package cache
 * and Go's module and build caches (GOMODCACHE, GOCACHE): with cold Go caches
 * the FerretDB build downloads its modules and takes minutes, not seconds.
 * Leftovers are found in /proc (Linux): any process whose command line or
 * working directory is inside the clone.
 */
import { expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, ROOT } from "../scripts/lib/processes.ts";

const SERVICES = ["gateway", "ingest", "notifier", "worker"] as const;
const isGitCheckout = Bun.spawnSync(["git", "-C", ROOT, "rev-parse", "--verify", "HEAD"], { stdout: "ignore", stderr: "ignore" }).success;
const hasProc = existsSync("/proc/self/cmdline");

interface DevRun {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  output(): string;
}

function run(cmd: string[], cwd: string): string {
  const result = Bun.spawnSync(cmd, { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  if (!result.success) throw new Error(`${cmd.join(" ")} failed (${result.exitCode}):\n${result.stderr.toString()}${result.stdout.toString()}`);
  return result.stdout.toString().trim();
}

function startDev(clone: string, env: Record<string, string>): DevRun {
  const proc = Bun.spawn(["bun", "run", "dev"], { cwd: clone, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let output = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      const text = decoder.decode(chunk.value, { stream: true });
      output += text;
      if (process.env.TEST_LOGS === "1") process.stderr.write(text);
    }
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  return { proc, output: () => output };
}

/** The lines `bun run dev` wrote that are not a service's JSON log. */
const ownLines = (output: string) =>
  output
    .split("\n")
    .filter((line) => !line.startsWith("{"))
    .join("\n");

/** Until /readyz answers 200 on every port (the services') and `bun run dev` has printed its curl line. */
async function waitUntilReady(dev: DevRun, ports: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let ready = false;
  while (Date.now() < deadline) {
    if (dev.proc.exitCode !== null) throw new Error(`bun run dev exited with ${dev.proc.exitCode}:\n${ownLines(dev.output())}`);
    if (!ready) {
      const answers = await Promise.all(
        ports.map((port) =>
          fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) })
            .then((response) => response.status)
            .catch(() => 0),
        ),
      );
      ready = answers.every((status) => status === 200);
    }
    if (ready && dev.output().includes("curl -F image=@")) return;
    await Bun.sleep(100);
  }
  throw new Error(`not ready within ${timeoutMs} ms:\n${ownLines(dev.output())}`);
}

/** The printed curl runs as printed (from the clone's root), and the Asset it creates becomes active. */
async function uploadAsPrinted(dev: DevRun, clone: string, gatewayPort: number): Promise<Record<string, unknown>> {
  const line = dev
    .output()
    .split("\n")
    .find((text) => text.trimStart().startsWith("curl -F image=@"));
  expect(line).toBeDefined();
  const token = /Bearer ([\w.-]+)/.exec(line as string)?.[1] as string;
  const answer = JSON.parse(run(["sh", "-c", `${(line as string).trim()} --silent --show-error`], clone)) as { assetId: string; status: string };
  expect(answer.status).toBe("processing");
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const response = await fetch(`http://127.0.0.1:${gatewayPort}/api/assets/${answer.assetId}`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const asset = (await response.json()) as Record<string, unknown>;
    if (asset.status !== "processing") return asset;
    await Bun.sleep(250);
  }
  throw new Error(`asset ${answer.assetId} still processing after 60 s`);
}

/** SIGINT, as Ctrl-C sends it; the exit status. */
async function interrupt(dev: DevRun): Promise<number> {
  dev.proc.kill("SIGINT");
  const code = await Promise.race([dev.proc.exited, Bun.sleep(60_000).then(() => "timeout" as const)]);
  if (code === "timeout") throw new Error(`bun run dev did not stop within 60 s of SIGINT:\n${ownLines(dev.output())}`);
  return code;
}

/** Processes whose command line or working directory is inside `folder`. */
function processesIn(folder: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      let cwd = "";
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // a process that exited meanwhile, or a zombie
      }
      if (cmdline.includes(folder) || cwd === folder || cwd.startsWith(`${folder}/`)) found.push(`${pid}: ${cmdline} (in ${cwd})`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** Waits a moment for processes still exiting (a PostgreSQL backend finishing), then lists what is left. */
async function leftoversIn(folder: string): Promise<string[]> {
  let left = processesIn(folder);
  for (let i = 0; i < 20 && left.length; i++) {
    await Bun.sleep(250);
    left = processesIn(folder);
  }
  return left;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

test.skipIf(!isGitCheckout || !hasProc)(
  "a fresh clone: `bun install && bun run dev` starts everything it needs, every /readyz answers, the printed curl works, Ctrl-C leaves nothing (cold and warm)",
  async () => {
    const base = mkdtempSync(join(tmpdir(), "pipeline-fresh-"));
    // Run as root, PostgreSQL runs as an unprivileged user, who must be able to reach .data/db in the clone.
    chmodSync(base, 0o755);
    const clone = join(base, "repo");
    const runs: DevRun[] = [];
    try {
      const clonedAt = performance.now();
      run(["git", "clone", "--quiet", ROOT, clone], base);
      const commit = run(["git", "rev-parse", "--short", "HEAD"], clone);
      const uncommitted = run(["git", "status", "--porcelain", "--untracked-files=no"], ROOT);
      if (uncommitted) console.warn(`fresh clone: testing the committed HEAD ${commit}; uncommitted changes in this checkout are not in it:\n${uncommitted}`);
      run(["bun", "install", "--frozen-lockfile"], clone);
      expect(existsSync(join(clone, ".data"))).toBe(false);

      const ports = { GATEWAY_PORT: await freePort(), INGEST_PORT: await freePort(), NOTIFIER_PORT: await freePort(), WORKER_PORT: await freePort() };
      const env: Record<string, string> = {};
      for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
      // Nothing of this shell's configuration reaches the clone's stack but PATH and the like.
      for (const key of ["MONGO_URL", "PORT", "JWT_SECRET", "INGEST_URL", "PUBLIC_URL", "STORAGE_DIR", "QUEUE_PREFIX", "NODE_ENV", "LOG_LEVEL"])
        delete env[key];
      Object.assign(env, { REDIS_URL: `redis://127.0.0.1:${await freePort()}`, DB_PORT: String(await freePort()) });
      for (const [key, port] of Object.entries(ports)) env[key] = String(port);
      const servicePorts = SERVICES.map((name) => ports[`${name.toUpperCase()}_PORT` as keyof typeof ports]);

      // Cold: no .data/, nothing at REDIS_URL.
      const cold = startDev(clone, env);
      runs.push(cold);
      await waitUntilReady(cold, servicePorts, 300_000);
      const coldMs = performance.now() - clonedAt;
      expect(cold.output()).toContain("started a private redis-server");
      expect(cold.output()).toContain("building FerretDB v1.24.2");
      expect(cold.output()).toContain("initialising the database");
      const asset = await uploadAsPrinted(cold, clone, ports.GATEWAY_PORT);
      expect(asset.status).toBe("active");
      expect(await interrupt(cold)).toBe(0);
      expect(await leftoversIn(clone)).toEqual([]);
      for (const made of [".data/bin/ferretdb", ".data/db/postgres/PG_VERSION", ".data/redis"]) expect(existsSync(join(clone, made))).toBe(true);

      // Warm: the same clone again, FerretDB built, the database initialised.
      const warmAt = performance.now();
      const warm = startDev(clone, env);
      runs.push(warm);
      await waitUntilReady(warm, servicePorts, 60_000);
      const warmMs = performance.now() - warmAt;
      expect(warm.output()).not.toContain("building FerretDB");
      expect(warm.output()).not.toContain("initialising the database");
      expect(await interrupt(warm)).toBe(0);
      expect(await leftoversIn(clone)).toEqual([]);

      const metadata = JSON.stringify(asset.aiMetadata);
      console.log(
        `fresh clone of ${commit}: cold, clone to ready ${seconds(coldMs)} (clone, bun install, FerretDB build, initdb, redis-server, services); warm, start to ready ${seconds(warmMs)}; sample upload: active, ${metadata}`,
      );
      expect(warmMs).toBeLessThan(30_000);
    } finally {
      for (const dev of runs) if (dev.proc.exitCode === null) dev.proc.kill("SIGKILL");
      // Anything left is this clone's own (redis-server, PostgreSQL, FerretDB, a service): never another's.
      for (const line of processesIn(clone)) {
        try {
          process.kill(Number(line.split(":")[0]), "SIGKILL");
        } catch {
          // already gone
        }
      }
      rmSync(base, { recursive: true, force: true });
    }
  },
  600_000,
);
