/**
 * The four services started for one benchmark scenario, on free loopback
 * ports (a running `bun run dev` is not disturbed), with their own database
 * name, queue prefix and storage folder. Processes come from
 * scripts/lib/processes.ts, as for `bun run dev` and the tests.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, type ServiceName, startServiceOnFreePort, stopProcess } from "../../scripts/lib/processes.ts";
import type { AiEndpoint } from "./ai-endpoint.ts";
import type { Watched } from "./proc-stats.ts";
import { deleteKeys } from "./redis.ts";

export interface BenchService {
  /** Unique label: `ai-worker`, `ai-worker#2`, ... */
  label: string;
  name: ServiceName;
  url: string;
  proc: Subprocess;
}

export interface BenchStackOptions {
  mongoUrl: string;
  redisUrl: string;
  jwtSecret: string;
  ai: AiEndpoint;
  /** ai-worker replicas to start (default 1). */
  workers?: number;
  /** Show the services' logs (LOG_LEVEL=warn) instead of discarding them. */
  logs?: boolean;
  /** Flags for bun itself when starting each service (e.g. `--smol`). */
  bunFlags?: string[];
  /** Write each service's CPU profile (bun --cpu-prof, also as markdown) into this folder when it stops. */
  cpuProfDir?: string;
}

export class BenchStack {
  /** Stacks started and not stopped yet, so an interrupted run can stop them. */
  static readonly running = new Set<BenchStack>();
  readonly prefix = `bench${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  readonly storageDir = mkdtempSync(join(tmpdir(), "bench-media-"));
  readonly services: BenchService[] = [];
  private env: Record<string, string> = {};

  private constructor(private readonly options: BenchStackOptions) {}

  static async start(options: BenchStackOptions): Promise<BenchStack> {
    const stack = new BenchStack(options);
    BenchStack.running.add(stack);
    try {
      const gatewayPort = await freePort();
      stack.env = {
        REDIS_URL: options.redisUrl,
        MONGO_URL: options.mongoUrl,
        JWT_SECRET: options.jwtSecret,
        QUEUE_PREFIX: stack.prefix,
        STORAGE: "local",
        STORAGE_DIR: stack.storageDir,
        PUBLIC_URL: `http://127.0.0.1:${gatewayPort}`,
        BACKGROUND_REMOVAL: "local",
        ANALYZER: "openai",
        AI_BASE_URL: options.ai.url,
        AI_API_KEY: options.ai.apiKey,
        AI_MODEL: options.ai.model,
        LOG_LEVEL: "warn",
        RATE_LIMIT_PER_MINUTE: "1000000",
        UPLOAD_RATE_LIMIT_PER_MINUTE: "1000000",
        IP_RATE_LIMIT_PER_MINUTE: "1000000",
      };
      await stack.add("ingest");
      for (let i = 0; i < (options.workers ?? 1); i++) await stack.add("ai-worker");
      await stack.add("notifier");
      stack.env.INGEST_URL = stack.get("ingest").url;
      await stack.add("gateway", gatewayPort);
      return stack;
    } catch (error) {
      await stack.stop();
      throw error;
    }
  }

  /** Starts one more replica of `name` (on `fixedPort`, or a free port). */
  async add(name: ServiceName, fixedPort?: number): Promise<BenchService> {
    const count = this.services.filter((s) => s.name === name).length;
    const label = count ? `${name}#${count + 1}` : name;
    const dir = this.options.cpuProfDir;
    const profile = dir ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${label}-${this.prefix}`] : [];
    const flags = [...(this.options.bunFlags ?? []), ...profile];
    const bunFlags = flags.length ? flags : undefined;
    const { proc, url } = await startServiceOnFreePort(name, this.env, {
      label,
      quiet: !this.options.logs,
      ...(fixedPort ? { fixedPort } : {}),
      ...(bunFlags ? { bunFlags } : {}),
    });
    const service = { label, name, url, proc };
    this.services.push(service);
    return service;
  }

  get(name: ServiceName): BenchService {
    const service = this.services.find((s) => s.name === name && s.proc.exitCode === null);
    if (!service) throw new Error(`no running ${name}`);
    return service;
  }

  get gatewayUrl(): string {
    return this.get("gateway").url;
  }

  get notifierUrl(): string {
    return this.get("notifier").url;
  }

  /** Services that exited on their own (a crash during the run invalidates it). */
  exited(): string[] {
    return this.services.filter((s) => s.proc.exitCode !== null).map((s) => `${s.label} (exit ${s.proc.exitCode})`);
  }

  /** Each service process, for CPU and RSS readings. */
  watched(): Watched[] {
    return this.services.map((s) => ({ name: s.label, pids: () => [s.proc.pid] }));
  }

  async stop(): Promise<void> {
    BenchStack.running.delete(this);
    await Promise.all(this.services.map((s) => stopProcess(s.proc, 15_000)));
    await deleteKeys(this.prefix, this.options.redisUrl).catch(() => 0);
    rmSync(this.storageDir, { recursive: true, force: true });
  }
}
