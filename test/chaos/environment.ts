/**
 * What a chaos run breaks: a Stack on a private, restartable Redis, with two
 * ai-workers and two notifiers (killing one leaves the other), one ingest
 * and one gateway, an OpenAI stand-in that takes 100–300 ms per answer (so
 * jobs are in flight when a worker dies), and one TCP proxy per notifier
 * (the load balancer, where sockets are dropped). Injectors kill and
 * restart these, and say when each fault began and when it was repaired.
 */
import { privateRedis, type RestartableServer } from "../helpers/private-servers.ts";
import { type ServiceHandle, Stack } from "../helpers/stack.ts";
import { type TcpProxy, tcpProxy } from "../helpers/tcp-proxy.ts";
import { jsonReply, type OpenAiStandIn, SAMPLE_METADATA, type ScriptedReply, startOpenAiStandIn } from "../standins/openai.ts";
import type { Random } from "./random.ts";
import { FAULT_LABELS, type PlannedFault } from "./schedule.ts";

export const WORKER_LOCK_MS = 2000;
export const WORKER_STALLED_INTERVAL_MS = 1000;

export interface InjectedFault extends PlannedFault {
  label: string;
  /** What was hit: `ai-worker :port`, `redis :port`, ... */
  victim: string;
  /** Date.now() when the fault began, and when the victim was back (its restart answered /healthz). */
  startedAt: number;
  repairedAt: number;
  error?: string;
}

/**
 * The AI stand-in's answers, drawn in advance from the seed: mostly a reply
 * after 100–300 ms; some 503s (transient: retried with backoff) and some 400s
 * (permanent: the Asset fails at once), so both final states occur.
 */
export function scriptedAiReplies(random: Random, count: number): ScriptedReply[] {
  return Array.from({ length: count }, (): ScriptedReply => {
    const roll = random.next();
    if (roll < 0.04) return { kind: "error", status: 503, message: "chaos: overloaded" };
    if (roll < 0.07) return { kind: "error", status: 400, message: "chaos: image refused" };
    return jsonReply(SAMPLE_METADATA, Math.round(random.between(100, 300)));
  });
}

export class ChaosEnvironment {
  /** The current replica in each slot; a restarted one takes its slot (and, for notifiers, its port). */
  readonly workers: ServiceHandle[] = [];
  readonly notifiers: ServiceHandle[] = [];
  /** One per notifier slot: the sockets' way in, where the network is cut. */
  readonly proxies: TcpProxy[] = [];

  private constructor(
    readonly stack: Stack,
    readonly redis: RestartableServer,
    readonly ai: OpenAiStandIn,
  ) {}

  static async start(options: { aiReplies: ScriptedReply[]; logs?: boolean }): Promise<ChaosEnvironment> {
    const redis = await privateRedis();
    const ai = startOpenAiStandIn();
    ai.script(...options.aiReplies);
    let stack: Stack | undefined;
    try {
      stack = await Stack.start({
        services: ["ingest"],
        ...(options.logs === undefined ? {} : { logs: options.logs }),
        env: {
          REDIS_URL: redis.url,
          ANALYZER: "openai",
          AI_BASE_URL: ai.url,
          JOB_BACKOFF_MS: "200",
          JOB_TIMEOUT_MS: "10000",
          WORKER_CONCURRENCY: "4",
          WORKER_LOCK_MS: String(WORKER_LOCK_MS),
          WORKER_STALLED_INTERVAL_MS: String(WORKER_STALLED_INTERVAL_MS),
          // The load is a few users at several uploads a second: the per-user limits are not what is tested here.
          UPLOAD_RATE_LIMIT_PER_MINUTE: "1000000",
          RATE_LIMIT_PER_MINUTE: "1000000",
        },
      });
      const environment = new ChaosEnvironment(stack, redis, ai);
      for (let slot = 0; slot < 2; slot++) environment.workers.push(await stack.add("ai-worker"));
      for (let slot = 0; slot < 2; slot++) {
        const notifier = await stack.add("notifier");
        environment.notifiers.push(notifier);
        environment.proxies.push(tcpProxy(notifier.port));
      }
      await stack.add("gateway");
      return environment;
    } catch (error) {
      await stack?.stop();
      await redis.dispose();
      await ai.stop();
      throw error;
    }
  }

  /** Carries out one fault: breaks, waits its down time, repairs. Never throws: a failed repair is recorded. */
  async inject(fault: PlannedFault): Promise<InjectedFault> {
    const startedAt = Date.now();
    const record = (victim: string, error?: string): InjectedFault => ({
      ...fault,
      label: FAULT_LABELS[fault.kind],
      victim,
      startedAt,
      repairedAt: Date.now(),
      ...(error ? { error } : {}),
    });
    let victim: string = fault.kind;
    try {
      switch (fault.kind) {
        case "kill-ai-worker": {
          const slot = fault.target % this.workers.length;
          victim = `ai-worker :${this.workers[slot]!.port}`;
          // A new port: nothing points at a worker.
          this.workers[slot] = await this.killAndRestart(this.workers[slot]!, fault.downMs, false);
          break;
        }
        case "kill-notifier": {
          const slot = fault.target % this.notifiers.length;
          victim = `notifier :${this.notifiers[slot]!.port}`;
          // The same port, behind the same proxy: its sockets come back to the new process.
          this.notifiers[slot] = await this.killAndRestart(this.notifiers[slot]!, fault.downMs, true);
          break;
        }
        case "kill-ingest": {
          const ingest = this.stack.get("ingest");
          victim = `ingest :${ingest.port}`;
          // The same port: the gateway's INGEST_URL stays valid.
          await this.killAndRestart(ingest, fault.downMs, true);
          break;
        }
        case "restart-redis": {
          victim = `redis ${this.redis.url}`;
          await this.redis.stop();
          await Bun.sleep(fault.downMs);
          await this.redis.start();
          break;
        }
        case "drop-sockets": {
          victim = `${this.proxies.length} proxies`;
          for (const proxy of this.proxies) proxy.dropAll();
          break;
        }
      }
      return record(victim);
    } catch (error) {
      return record(victim, (error as Error).message);
    }
  }

  private async killAndRestart(handle: ServiceHandle, downMs: number, samePort: boolean): Promise<ServiceHandle> {
    handle.proc.kill("SIGKILL");
    await handle.proc.exited;
    await Bun.sleep(downMs);
    return this.stack.add(handle.name, {}, samePort ? { port: handle.port } : {});
  }

  async stop(): Promise<void> {
    for (const proxy of this.proxies) proxy.close();
    await this.stack.stop();
    await this.redis.dispose();
    await this.ai.stop();
  }
}
