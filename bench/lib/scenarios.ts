/**
 * Load on a running stack: the first-page listing latency, warm-up, the
 * open-loop run at a fixed offered rate (with CPU and RSS readings), and the
 * closed-loop saturation runs used for scaling.
 */

import { AI_QUEUE } from "@pipeline/messaging";
import { Queue } from "bullmq";
import { getJson } from "../../test/helpers/api.ts";
import type { AiEndpoint } from "./ai-endpoint.ts";
import { type BenchUser, EventTracker } from "./clients.ts";
import { closedLoop, openLoop, type ScheduleLag, type Summary, sendUpload, summarize } from "./load.ts";
import { type CpuWindow, rssMiB, startCpuWindow, type Watched } from "./proc-stats.ts";
import { redisMemory, usedMemory } from "./redis-memory.ts";
import type { PipelineScenario } from "./report.ts";
import { BenchStack } from "./stack.ts";

export const log = (message: string) => console.log(message);
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

export interface StackSettings {
  mongoUrl: string;
  redisUrl: string;
  jwtSecret: string;
  ai: AiEndpoint;
  logs: boolean;
  cpuProfDir?: string;
}

const WARM_UP_UPLOADS = 4;
const WARM_UP_TIMEOUT_S = 20;
/** The drain gives up when no event has arrived for this long (the pipeline has stalled). */
const STALL_S = 15;

/**
 * One open-loop scenario on a fresh stack: start it, connect every user's
 * socket, read idle RSS, time the first-page listing, warm up, run the load,
 * stop everything.
 */
export async function pipelineScenario(
  settings: StackSettings,
  options: {
    users: BenchUser[];
    image: Uint8Array;
    ratePerS: number;
    durationS: number;
    drainS: number;
    listRequests: number;
    listBudgetS: number;
    storedAssets: number;
    alsoWatch: Watched[];
  },
): Promise<PipelineScenario> {
  const started = performance.now();
  const stack = await BenchStack.start({ ...settings, workers: 1 });
  let tracker: EventTracker | undefined;
  try {
    const startupS = round((performance.now() - started) / 1000, 2);
    const redisBefore = await usedMemory(settings.redisUrl);
    tracker = await EventTracker.connect(stack.notifierUrl, options.users);
    const watched = [...stack.watched(), ...options.alsoWatch];
    const rssIdle = rssMiB(watched);
    log(`  stack up in ${startupS} s; timing GET /api/assets`);
    const list = await listLatency(stack, options.users, options.listRequests, options.listBudgetS);
    const failed = Object.values(list.errors).reduce((a, b) => a + b, 0);
    log(`  GET /api/assets p50 ${round(list.p50)} ms (n = ${list.count}${failed ? `, ${failed} failed` : ""}); warming up`);
    const arrived = await warmUp(stack, tracker, options.users, options.image, WARM_UP_UPLOADS, WARM_UP_TIMEOUT_S);
    log(`  warm-up: ${arrived}/${WARM_UP_UPLOADS} events; ${options.ratePerS}/s for ${options.durationS} s`);
    const run = await openLoopRun({ stack, tracker, watched, rssIdle, redisUrl: settings.redisUrl, ...options });
    // Every asset of the scenario (warm-up included) leaves its keys until its retention ends.
    const redis = await redisMemory(settings.redisUrl, stack.prefix, run.completed + arrived, redisBefore);
    return { storedAssets: options.storedAssets, startupS, warmUp: { sent: WARM_UP_UPLOADS, arrived }, list, run, redis, crashed: stack.exited() };
  } finally {
    tracker?.close();
    await stack.stop();
  }
}

/** Saturation with one ai-worker replica, then with a second one added to the same stack. */
export async function scalingScenario(
  settings: StackSettings,
  options: { users: BenchUser[]; image: Uint8Array; clients: number; warmupS: number; durationS: number; alsoWatch: Watched[] },
): Promise<{ one: SaturationResult; two: SaturationResult; ratio: number | null }> {
  const stack = await BenchStack.start({ ...settings, workers: 1 });
  let tracker: EventTracker | undefined;
  try {
    tracker = await EventTracker.connect(stack.notifierUrl, options.users);
    await warmUp(stack, tracker, options.users, options.image, WARM_UP_UPLOADS, WARM_UP_TIMEOUT_S);
    const run = () => saturationRun({ stack, tracker: tracker!, watched: [...stack.watched(), ...options.alsoWatch], ...options });
    log("  1 ai-worker replica");
    const one = await run();
    await stack.add("ai-worker");
    log(`  ${one.completedPerS} jobs/s; 2 ai-worker replicas`);
    const two = await run();
    log(`  ${two.completedPerS} jobs/s`);
    return { one, two, ratio: one.completedPerS > 0 ? round(two.completedPerS / one.completedPerS, 2) : null };
  } finally {
    tracker?.close();
    await stack.stop();
  }
}

/** Sends `count` uploads (spread over the users) and waits up to `timeoutS` for their events; returns how many arrived. */
export async function warmUp(
  stack: BenchStack,
  tracker: EventTracker,
  users: BenchUser[],
  image: Uint8Array,
  count: number,
  timeoutS: number,
): Promise<number> {
  const sent = await Promise.all(Array.from({ length: count }, (_, i) => sendUpload(stack.gatewayUrl, users[i % users.length]!.token, image)));
  const waits = sent.map((s, i) => {
    if (!s.assetId) return Promise.resolve(null);
    tracker.expect(s.assetId, users[i % users.length]!.id, s.sentAt);
    return tracker.waitFor(s.assetId, timeoutS * 1000);
  });
  const arrived = (await Promise.all(waits)).filter(Boolean).length;
  tracker.reset();
  return arrived;
}

export interface ListLatency extends Summary {
  /** Items on the first page and the `total` the API reported (the last successful request's). */
  items: number;
  total: number;
  /** Failed requests by HTTP status (0: no answer). */
  errors: Record<string, number>;
  /** True when the time budget ran out before all requests were made. */
  cutShort: boolean;
}

/** GET /api/assets (a user's first page), one request at a time, users in turn, until `requests` or `budgetS`. */
export async function listLatency(stack: BenchStack, users: BenchUser[], requests: number, budgetS: number): Promise<ListLatency> {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let items = 0;
  let total = 0;
  const deadline = performance.now() + budgetS * 1000;
  for (let i = 0; i < requests && performance.now() < deadline; i++) {
    const t0 = performance.now();
    const response = await getJson(stack.gatewayUrl, "/api/assets", users[i % users.length]!.token).catch(() => null);
    const body = response?.ok ? ((await response.json()) as { items: unknown[]; total: number }) : null;
    if (response && !body) await response.text();
    latencies.push(performance.now() - t0);
    if (!body) {
      const status = String(response?.status ?? 0);
      errors[status] = (errors[status] ?? 0) + 1;
      continue;
    }
    items = body.items.length;
    total = body.total;
  }
  return { ...roundSummary(summarize(latencies)), items, total, errors, cutShort: latencies.length < requests };
}

export interface OpenLoopResult {
  offered: { ratePerS: number; durationS: number; uploads: number };
  accepted: number;
  acceptedPerS: number;
  /** Refusals by HTTP status (0: network error). */
  refused: Record<string, number>;
  /** Events that arrived inside the load window, per second of it. */
  completedPerS: number;
  /** Events that arrived by the end of the drain. */
  completed: number;
  /** Outcomes that were `failed` rather than `active`. */
  failedOutcomes: number;
  latencyMs: Summary;
  /** Assets whose job finished but whose event never reached the owner's socket. */
  lostEvents: number;
  /** Assets still queued or in progress when the drain ended, by BullMQ job state. */
  unfinished: Record<string, number>;
  duplicates: number;
  misdelivered: number;
  socketDisconnects: number;
  generatorLag: ScheduleLag;
  /** Seconds from the end of the schedule until the last upload was answered. */
  answersLagS: number;
  /** Seconds from the last answer until the last event, or until the drain gave up. */
  drainS: number;
  /** How the drain ended: every event arrived, its time limit, or no event for a while. */
  drainEnd: "complete" | "time limit" | "stalled";
  /** CPU ms per completed asset, per process, from the first upload to the end of the drain (null with no completion). */
  cpuMsPerAsset: Record<string, number | null>;
  /** CPU ms per process over the same window. */
  cpuMsTotal: Record<string, number | null>;
  cpuWindowS: number;
  /** Share of all cores busy meanwhile (every process on the machine, others' work included). */
  machineBusyShare: number;
  rssMiB: { idle: Record<string, number | null>; end: Record<string, number | null> };
  /** Mean wall-clock ms per ai-worker stage (its ai_stage_duration_seconds histogram, warm-up included), null when unreadable. */
  stagesMs: Record<string, number> | null;
}

/**
 * The open-loop run: `ratePerS` uploads per second for `durationS`, users in
 * turn, then a drain for the events still due: until all arrived, `drainS`
 * passed, or none arrived for STALL_S. CPU is read from just before the
 * first upload to the end of the drain.
 */
export async function openLoopRun(options: {
  stack: BenchStack;
  tracker: EventTracker;
  users: BenchUser[];
  image: Uint8Array;
  ratePerS: number;
  durationS: number;
  drainS: number;
  watched: Watched[];
  rssIdle: Record<string, number | null>;
  redisUrl: string;
}): Promise<OpenLoopResult> {
  const { stack, tracker, users, image, ratePerS, durationS, watched } = options;
  tracker.reset();
  const refused: Record<string, number> = {};
  const disconnectsBefore = tracker.disconnects();
  const cpu = startCpuWindow(watched);
  const { results, lag, startedAt } = await openLoop(ratePerS, durationS, async (i) => {
    const user = users[i % users.length]!;
    const sent = await sendUpload(stack.gatewayUrl, user.token, image);
    if (sent.assetId) tracker.expect(sent.assetId, user.id, sent.sentAt);
    else refused[sent.status] = (refused[sent.status] ?? 0) + 1;
    return sent;
  });
  const scheduleEnd = startedAt + durationS * 1000;
  const answered = performance.now();
  const drainEnd = await drain(tracker, answered + options.drainS * 1000);
  const window = cpu.stop();
  const rssEnd = rssMiB(watched);
  const stagesMs = await stageMeans(stack.get("ai-worker").url);

  const { lostEvents, unfinished } = await classifyOutstanding(tracker, stack.prefix, options.redisUrl);
  const completions = tracker.completions();
  const accepted = results.filter((r) => r.assetId).length;
  const lastEvent = Math.max(answered, ...completions.map((c) => c.at));
  return {
    offered: { ratePerS, durationS, uploads: results.length },
    accepted,
    acceptedPerS: round(accepted / durationS, 2),
    refused,
    completedPerS: round(completions.filter((c) => c.at <= scheduleEnd).length / durationS, 2),
    completed: completions.length,
    failedOutcomes: completions.filter((c) => c.status !== "active").length,
    latencyMs: roundSummary(summarize(completions.map((c) => c.at - c.sentAt))),
    lostEvents,
    unfinished,
    duplicates: tracker.duplicates,
    misdelivered: tracker.misdelivered,
    socketDisconnects: tracker.disconnects() - disconnectsBefore,
    generatorLag: { p99Ms: round(lag.p99Ms), maxMs: round(lag.maxMs) },
    answersLagS: round(Math.max(0, answered - scheduleEnd) / 1000, 2),
    drainS: round(((drainEnd === "complete" ? lastEvent : performance.now()) - answered) / 1000, 2),
    drainEnd,
    cpuMsPerAsset: perUnit(window, completions.length),
    cpuMsTotal: Object.fromEntries(Object.entries(window.cpuMs).map(([name, ms]) => [name, ms === null ? null : Math.round(ms)])),
    cpuWindowS: round(window.wallMs / 1000, 2),
    machineBusyShare: round(window.machineBusyShare, 3),
    rssMiB: { idle: roundRecord(options.rssIdle), end: roundRecord(rssEnd) },
    stagesMs,
  };
}

/** Mean ms per stage from the ai-worker's `ai_stage_duration_seconds` (sum ÷ count). */
async function stageMeans(aiWorkerUrl: string): Promise<Record<string, number> | null> {
  const text = await fetch(`${aiWorkerUrl}/metrics`)
    .then((r) => (r.ok ? r.text() : ""))
    .catch(() => "");
  const read = (suffix: string) =>
    new Map(
      [...text.matchAll(new RegExp(`^ai_stage_duration_seconds_${suffix}\\{[^}]*stage="([^"]+)"[^}]*\\} ([0-9.e+-]+)$`, "gm"))].map((m) => [
        m[1]!,
        Number(m[2]),
      ]),
    );
  const sums = read("sum");
  const counts = read("count");
  if (!sums.size) return null;
  return Object.fromEntries([...sums].map(([stage, sum]) => [stage, round((sum / (counts.get(stage) || 1)) * 1000, 2)]));
}

/** Waits for the outstanding events until all arrived, `deadline`, or STALL_S without any. */
async function drain(tracker: EventTracker, deadline: number): Promise<OpenLoopResult["drainEnd"]> {
  let lastProgress = performance.now();
  let left = tracker.outstanding().length;
  while (left) {
    await Bun.sleep(50);
    const now = performance.now();
    const nowLeft = tracker.outstanding().length;
    if (nowLeft < left) lastProgress = now;
    left = nowLeft;
    if (!left) break;
    if (now >= deadline) return "time limit";
    if (now - lastProgress >= STALL_S * 1000) return "stalled";
  }
  return "complete";
}

/**
 * Splits the events still missing into lost (the AI job is finished, so its
 * outcome was published, yet nothing arrived within a grace period) and
 * unfinished (the job is still waiting, active or delayed).
 */
async function classifyOutstanding(
  tracker: EventTracker,
  prefix: string,
  redisUrl: string,
): Promise<{ lostEvents: number; unfinished: Record<string, number> }> {
  if (!tracker.outstanding().length) return { lostEvents: 0, unfinished: {} };
  const queue = new Queue(AI_QUEUE, { connection: { url: redisUrl }, prefix });
  try {
    const states = async () => new Map(await Promise.all(tracker.outstanding().map(async (id) => [id, await queue.getJobState(id)] as const)));
    let byId = await states();
    if ([...byId.values()].some((s) => s === "completed" || s === "failed")) {
      await Bun.sleep(3000); // an outcome published just now is still on its way
      byId = await states();
    }
    const unfinished: Record<string, number> = {};
    let lostEvents = 0;
    for (const state of byId.values()) {
      if (state === "completed" || state === "failed") lostEvents++;
      else unfinished[state] = (unfinished[state] ?? 0) + 1;
    }
    return { lostEvents, unfinished };
  } finally {
    await queue.close();
  }
}

export interface SaturationResult {
  clients: number;
  windowS: number;
  completed: number;
  completedPerS: number;
  latencyMs: Summary;
  /** CPU ms per completed job over the counted window, per process. */
  cpuMsPerAsset: Record<string, number | null>;
  /** Share of all cores busy meanwhile (others' work included): near 100 % means CPU, not the AI endpoint, was the limit. */
  machineBusyShare: number;
}

/**
 * Closed loop over the whole pipeline: `clients` clients each upload, wait
 * for their event, and upload again. Completions (and CPU) are counted over
 * `durationS` after `warmupS`.
 */
export async function saturationRun(options: {
  stack: BenchStack;
  tracker: EventTracker;
  users: BenchUser[];
  image: Uint8Array;
  clients: number;
  warmupS: number;
  durationS: number;
  watched: Watched[];
}): Promise<SaturationResult> {
  const { stack, tracker, users, image } = options;
  tracker.reset();
  const started = performance.now();
  const windowStart = started + options.warmupS * 1000;
  const windowEnd = windowStart + options.durationS * 1000;
  const cpuWindow = (async () => {
    await Bun.sleep(options.warmupS * 1000);
    const cpu = startCpuWindow(options.watched);
    await Bun.sleep(options.durationS * 1000);
    return cpu.stop();
  })();
  await closedLoop(
    options.clients,
    () => performance.now() < windowEnd,
    async (client) => {
      const user = users[client % users.length]!;
      const sent = await sendUpload(stack.gatewayUrl, user.token, image);
      if (!sent.assetId) return Bun.sleep(100);
      tracker.expect(sent.assetId, user.id, sent.sentAt);
      await tracker.waitFor(sent.assetId, 120_000);
    },
  );
  const window = await cpuWindow;
  const inWindow = tracker.completions().filter((c) => c.at >= windowStart && c.at <= windowEnd);
  return {
    clients: options.clients,
    windowS: options.durationS,
    completed: inWindow.length,
    completedPerS: round(inWindow.length / options.durationS, 2),
    latencyMs: roundSummary(summarize(inWindow.map((c) => c.at - c.sentAt))),
    cpuMsPerAsset: perUnit(window, inWindow.length),
    machineBusyShare: round(window.machineBusyShare, 3),
  };
}

function perUnit(window: CpuWindow, units: number): Record<string, number | null> {
  return Object.fromEntries(Object.entries(window.cpuMs).map(([name, ms]) => [name, ms === null || units === 0 ? null : round(ms / units, 2)]));
}

function roundSummary(summary: Summary): Summary {
  return { count: summary.count, p50: round(summary.p50), p95: round(summary.p95), p99: round(summary.p99), max: round(summary.max) };
}

function roundRecord(record: Record<string, number | null>): Record<string, number | null> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, v === null ? null : round(v)]));
}
