/**
 * One chaos run: start the environment, connect every user's sockets, upload
 * at a steady rate while the seeded schedule's faults are injected, then stop
 * the faults, wait (bounded) for the pipeline to go quiet, and check what
 * became of every upload. `bun run chaos` (scripts/chaos.ts) and
 * test/e2e/chaos.test.ts both run this.
 */

import { AI_QUEUE, OUTCOME_QUEUE } from "@pipeline/messaging";
import { Queue } from "bullmq";
import { openLoop } from "../../bench/lib/load.ts";
import { productPhoto } from "../helpers/images.ts";
import { eventually } from "../helpers/sockets.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";
import { type ChaosReport, checkOutcome, waitForQuiescence } from "./checks.ts";
import { ChaosEnvironment, type InjectedFault, scriptedAiReplies } from "./environment.ts";
import { stream } from "./random.ts";
import { FAULT_LABELS, type FaultKind, type PlannedFault, planFaults } from "./schedule.ts";
import { ChaosSocket } from "./sockets.ts";
import { type UploadRecord, uploadWithRetries } from "./uploads.ts";

export interface ChaosOptions {
  /** Seconds of load and faults. */
  durationS: number;
  /** Uploads per second (open loop: sent on time whatever the answers). */
  rate: number;
  seed: number;
  /** Users, each with one socket behind each notifier's proxy. */
  users: number;
  /** How long an upload is retried (same Idempotency-Key) before it counts as refused. */
  retryForS: number;
  /** Upper bound of the wait for the pipeline to go quiet after the last fault. */
  quiescenceTimeoutS: number;
  /** Services' logs on the terminal. */
  logs?: boolean;
  /** Progress lines (faults as they happen); default: none. */
  progress?: (line: string) => void;
}

export const CHAOS_DEFAULTS = { durationS: 180, rate: 5, users: 4, retryForS: 30, quiescenceTimeoutS: 120 } as const;

const CATEGORIES = ["sneaker", "lego", "camera", "other"] as const;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const say = options.progress ?? (() => {});
  const runStarted = Date.now();
  const durationMs = options.durationS * 1000;
  const uploadCount = Math.round(options.rate * options.durationS);
  // Enough answers for every attempt of every upload; past them the stand-in answers at once.
  const environment = await ChaosEnvironment.start({
    aiReplies: scriptedAiReplies(stream(options.seed, "ai"), uploadCount * 3 + 100),
    ...(options.logs === undefined ? {} : { logs: options.logs }),
  });
  const sockets: ChaosSocket[] = [];
  try {
    const { stack } = environment;
    const images = await Promise.all(["#d01010", "#1040d0", "#10a040", "#202020"].map((color) => productPhoto({ format: "png", color })));
    const users = await Promise.all(
      Array.from({ length: options.users }, async () => {
        const userId = newUserId();
        return { userId, token: await tokenFor(userId, { expiresInS: 24 * 3600 }) };
      }),
    );
    const since = new Date(Date.now() - 1000).toISOString();
    for (const [user, { userId, token }] of users.entries()) {
      for (const [slot, proxy] of environment.proxies.entries()) {
        // One socket on websocket, one that starts on long-polling and upgrades: both transports under fire.
        const transports: ("websocket" | "polling")[] = slot % 2 === 0 ? ["websocket"] : ["polling", "websocket"];
        sockets.push(new ChaosSocket({ user, userId, slot, notifierUrl: proxy.url, apiUrl: stack.gatewayUrl, token, transports, since }));
      }
    }
    await eventually(() => sockets.every((socket) => socket.connected), 20_000, "every socket connected");
    say(`stack up in ${((Date.now() - runStarted) / 1000).toFixed(1)} s; ${options.users} users × ${environment.proxies.length} sockets connected`);

    const plan = planFaults(options.seed, durationMs);
    const loadStarted = Date.now();
    const faultsDone = runFaults(environment, plan, loadStarted, say);
    const pick = stream(options.seed, "uploads");
    const load = await openLoop(options.rate, options.durationS, (index) => {
      const user = pick.index(users.length);
      return uploadWithRetries({
        gatewayUrl: stack.gatewayUrl,
        index,
        user,
        token: users[user]!.token,
        image: pick.pick(images),
        category: pick.pick(CATEGORIES),
        retryForMs: options.retryForS * 1000,
      });
    });
    const faults = await faultsDone;
    const uploads: UploadRecord[] = load.results;
    const loadEnded = Date.now();
    say(`load and faults over after ${((loadEnded - loadStarted) / 1000).toFixed(1)} s; waiting for the pipeline to go quiet`);

    const queues = [AI_QUEUE, OUTCOME_QUEUE].map((name) => stack.onStop(new Queue(name, { connection: stack.redis(), prefix: stack.id })));
    const quiescence = await waitForQuiescence({ stack, queues, uploads, users, sockets, timeoutMs: options.quiescenceTimeoutS * 1000 });
    say(quiescence.reached ? `quiet after ${(quiescence.ms / 1000).toFixed(1)} s` : `not quiet after ${options.quiescenceTimeoutS} s; checking anyway`);
    return await checkOutcome({
      options,
      stack,
      queues,
      users,
      uploads,
      sockets,
      faults,
      aiCalls: environment.ai.requests.length,
      quiescence,
      timing: { runStarted, loadStarted, loadEnded, loadLagMs: load.lag.maxMs },
    });
  } finally {
    for (const socket of sockets) socket.close();
    await environment.stop();
  }
}

/** Each fault at its moment; faults of one kind one after another (a kind's next fault waits for the last repair). */
async function runFaults(environment: ChaosEnvironment, plan: PlannedFault[], startedAt: number, say: (line: string) => void): Promise<InjectedFault[]> {
  const chains = new Map<FaultKind, Promise<InjectedFault[]>>();
  const at = (time: number) => `+${((time - startedAt) / 1000).toFixed(1).padStart(5)} s`;
  for (const fault of plan) {
    const previous = chains.get(fault.kind) ?? Promise.resolve([]);
    chains.set(
      fault.kind,
      previous.then(async (done) => {
        const wait = startedAt + fault.atMs - Date.now();
        if (wait > 0) await Bun.sleep(wait);
        const injected = await environment.inject(fault);
        const down = fault.kind === "drop-sockets" ? "" : `, back at ${at(injected.repairedAt)}`;
        say(`${at(injected.startedAt)}  ${FAULT_LABELS[fault.kind]}: ${injected.victim}${down}${injected.error ? `; REPAIR FAILED: ${injected.error}` : ""}`);
        return [...done, injected];
      }),
    );
  }
  return (await Promise.all(chains.values())).flat().sort((a, b) => a.startedAt - b.startedAt);
}
