/**
 * After the faults: wait (bounded) until the pipeline is quiet, then check
 * through the API, the database and BullMQ what became of every upload:
 * - every accepted upload is final (`active` or `failed`);
 * - no Asset is `processing` and no job is `active`;
 * - every socket of each owner knows the final state of each of that owner's
 *   accepted uploads (live, or by its catch-up after a reconnect), with the
 *   status the API gives, and no socket receives one Asset's final event twice
 *   (an outcome taken over after a notifier crash is written once, by its id);
 * and measure each fault's recovery.
 */

import { createClient } from "@pipeline/client";
import type { AssetResponse } from "@pipeline/contracts/asset";
import { outcomeIdFor } from "@pipeline/messaging";

import type { Queue } from "bullmq";
import { Types } from "mongoose";
import type { Stack } from "../helpers/stack.ts";
import type { InjectedFault } from "./environment.ts";
import type { ChaosOptions } from "./run.ts";
import type { FaultKind } from "./schedule.ts";
import type { ChaosSocket } from "./sockets.ts";
import type { UploadRecord } from "./uploads.ts";

const FINAL = new Set(["active", "failed"]);
/** Job states that mean "not done yet". */
const PENDING_STATES = ["waiting", "active", "delayed", "prioritized", "waiting-children", "paused"] as const;
/** A socket cut within this long after a fault began was cut by it. */
const CUT_BY_FAULT_MS = 2000;

export interface User {
  userId: string;
  token: string;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface FaultRecovery extends InjectedFault {
  /** From the fault's start until every asset in flight then was known to all its owner's sockets, a new upload was accepted, and the sockets it cut were back. */
  recoveryMs: number;
}

export interface ChaosReport {
  seed: number;
  durationS: number;
  rate: number;
  users: number;
  sockets: number;
  faults: FaultRecovery[];
  uploads: {
    sent: number;
    accepted: number;
    acceptedAfterRetry: number;
    replayed: number;
    refused: number;
    /** Status of every attempt that was not a 202 (0: no answer). */
    retriedStatuses: Record<string, number>;
  };
  final: { active: number; failed: number; notFinal: number; notFound: number };
  /** Uploads never accepted: each attempt's status (0: no answer), from the first attempt's time (ms after the load began). */
  refused: { index: number; user: number; atMs: number; statuses: number[] }[];
  /** Assets the API lists that no 202 named: made by a request whose answer was lost (ingest killed) or refused after the Asset was written. */
  unacknowledged: { assetId: string; status: string; createdAt: string; error?: string }[];
  stuckProcessing: { assetId: string; acknowledged: boolean; job: string }[];
  /** `asset_progress` that reached a socket after that asset's final event, with how its job ran. */
  progressAfterFinal: { assetId: string; stage: string; msAfterFinal: number; runs: string }[];
  /** Live final events received more than once on one socket, with how their outcome job ran. */
  duplicates: { assetId: string; user: number; slot: number; count: number; runs: string }[];
  jobs: Record<string, Record<string, number>>;
  aiCalls: number;
  events: {
    live: number;
    caughtUp: number;
    duplicates: number;
    missing: number;
    mismatched: number;
    progressAfterFinal: number;
    reconnectsRecovered: number;
    reconnectsCaughtUp: number;
    catchUpRetries: number;
  };
  quiescence: { reached: boolean; ms: number };
  timing: { loadStartedAt: number; setupMs: number; loadMs: number; totalMs: number; loadLagMs: number };
  checks: Check[];
  passed: boolean;
}

interface Context {
  stack: Stack;
  queues: Queue[];
  uploads: UploadRecord[];
  users: User[];
  sockets: ChaosSocket[];
}

const accepted = (uploads: UploadRecord[]) => uploads.filter((u): u is UploadRecord & { assetId: string } => u.outcome === "accepted" && !!u.assetId);

async function pendingJobs(queues: Queue[]): Promise<number> {
  let pending = 0;
  for (const queue of queues) {
    const counts = await queue.getJobCounts(...PENDING_STATES);
    for (const state of PENDING_STATES) pending += counts[state] ?? 0;
  }
  return pending;
}

/** Until every accepted upload is final in the database, both queues are idle, and every socket is connected and knows all its owner's outcomes. */
export async function waitForQuiescence(context: Context & { timeoutMs: number }): Promise<{ reached: boolean; ms: number }> {
  const started = Date.now();
  const assets = (await context.stack.db()).collection("assets");
  const mine = accepted(context.uploads);
  while (Date.now() - started < context.timeoutMs) {
    const quiet = await (async () => {
      if (!context.sockets.every((socket) => socket.connected)) return false;
      if (!mine.every((upload) => context.sockets.every((socket) => socket.options.user !== upload.user || socket.known.has(upload.assetId)))) return false;
      if ((await pendingJobs(context.queues)) > 0) return false;
      const open = await assets.countDocuments({ _id: { $in: mine.map((u) => new Types.ObjectId(u.assetId)) }, status: { $nin: [...FINAL] } });
      return open === 0;
    })().catch(() => false);
    if (quiet) {
      // Late duplicates (an outcome redelivered after a stall) would arrive now.
      await Bun.sleep(1500);
      return { reached: true, ms: Date.now() - started };
    }
    await Bun.sleep(500);
  }
  return { reached: false, ms: Date.now() - started };
}

export async function checkOutcome(
  context: Context & {
    options: ChaosOptions;
    faults: InjectedFault[];
    /** Requests the AI stand-in received (more than accepted uploads: retried attempts, runs taken over from killed workers). */
    aiCalls: number;
    quiescence: { reached: boolean; ms: number };
    timing: { runStarted: number; loadStarted: number; loadEnded: number; loadLagMs: number };
  },
): Promise<ChaosReport> {
  const { stack, uploads, users, sockets } = context;
  const mine = accepted(uploads);

  // The API's view, as each owner sees it.
  const listed = new Map<string, AssetResponse>();
  for (const user of users) {
    const client = createClient({ baseUrl: stack.gatewayUrl, token: user.token });
    for await (const page of client.list({ limit: 100 })) for (const asset of page.items) listed.set(asset.id, asset);
  }
  const statusOf = (assetId: string) => listed.get(assetId)?.status;
  const acknowledged = new Set(mine.map((u) => u.assetId));
  const unacknowledged = [...listed.values()]
    .filter((asset) => !acknowledged.has(asset.id))
    .map((asset) => ({
      assetId: asset.id,
      status: asset.status,
      createdAt: asset.createdAt,
      ...(asset.aiMetadata?.error ? { error: asset.aiMetadata.error } : {}),
    }));

  const final = { active: 0, failed: 0, notFinal: 0, notFound: 0 };
  for (const { assetId } of mine) {
    const status = statusOf(assetId);
    if (status === "active") final.active++;
    else if (status === "failed") final.failed++;
    else if (status === undefined) final.notFound++;
    else final.notFinal++;
  }

  // The database's view: any Asset of this run still processing, and whether BullMQ still has its job.
  const [aiQueue] = context.queues as [Queue, Queue];
  const processing = await (await stack.db())
    .collection("assets")
    .find({ status: "processing" }, { projection: { _id: 1, processingJobId: 1 } })
    .toArray();
  const stuckProcessing = await Promise.all(
    processing.map(async (doc) => {
      const jobId = String(doc.processingJobId ?? "");
      const job = jobId ? await aiQueue.getJob(jobId) : undefined;
      return {
        assetId: String(doc._id),
        acknowledged: acknowledged.has(String(doc._id)),
        job: job ? `${jobId}: ${await job.getState()}` : `${jobId}: no such job`,
      };
    }),
  );
  const jobs: Record<string, Record<string, number>> = {};
  for (const queue of context.queues) jobs[queue.name] = await queue.getJobCounts(...PENDING_STATES, "completed", "failed");

  // Every socket against its owner's accepted uploads.
  const events = {
    live: 0,
    caughtUp: 0,
    duplicates: 0,
    missing: 0,
    mismatched: 0,
    progressAfterFinal: 0,
    reconnectsRecovered: 0,
    reconnectsCaughtUp: 0,
    catchUpRetries: 0,
  };
  const missingExamples: string[] = [];
  const lateProgress = new Map<string, { assetId: string; stage: string; msAfterFinal: number }>();
  for (const socket of sockets) {
    for (const upload of mine) {
      if (upload.user !== socket.options.user) continue;
      const known = socket.known.get(upload.assetId);
      if (!known) {
        events.missing++;
        if (missingExamples.length < 5)
          missingExamples.push(`${upload.assetId} (user ${upload.user}, socket ${socket.options.slot}, ${statusOf(upload.assetId)})`);
        continue;
      }
      if (known.via === "live") events.live++;
      else events.caughtUp++;
      if (known.status !== statusOf(upload.assetId)) events.mismatched++;
    }
    for (const count of socket.liveCounts.values()) events.duplicates += Math.max(0, count - 1);
    events.mismatched += socket.conflicts.length;
    events.progressAfterFinal += socket.progressAfterFinal.length;
    for (const late of socket.progressAfterFinal) lateProgress.set(late.assetId, late);
    // The first connect is not a reconnect.
    for (const connect of socket.connects.slice(1)) {
      if (connect.recovered) events.reconnectsRecovered++;
      else events.reconnectsCaughtUp++;
    }
    events.catchUpRetries += socket.catchUps.reduce((sum, c) => sum + c.attempts - 1, 0);
  }

  // A progress event after the final one: how often its job was started and found stalled tells a second run from a late write.
  const progressAfterFinal = await Promise.all(
    [...lateProgress.values()].map(async (late) => {
      const jobId = listed.get(late.assetId)?.processingJobId ?? late.assetId;
      const job = await aiQueue.getJob(jobId);
      const runs = job
        ? `job ${jobId}: ${job.attemptsStarted} runs started, ${job.attemptsMade} attempts spent, stalled ${job.stalledCounter}×`
        : `job ${jobId} gone`;
      return { ...late, runs };
    }),
  );
  // A duplicate: how often its outcome job was started and found stalled (a notifier killed after writing the event, before completing the job).
  const [, outcomeQueue] = context.queues as [Queue, Queue];
  const duplicates = await Promise.all(
    sockets.flatMap((socket) =>
      [...socket.liveCounts]
        .filter(([, count]) => count > 1)
        .map(async ([assetId, count]) => {
          const jobId = outcomeIdFor(listed.get(assetId)?.processingJobId ?? assetId);
          const job = await outcomeQueue.getJob(jobId);
          const runs = job ? `job ${jobId}: ${job.attemptsStarted} runs started, stalled ${job.stalledCounter}×` : `job ${jobId} gone`;
          return { assetId, user: socket.options.user, slot: socket.options.slot, count, runs };
        }),
    ),
  );
  const faults = context.faults.map((fault) => ({ ...fault, recoveryMs: recoveryOf(fault, mine, uploads, sockets) }));
  const retriedStatuses: Record<string, number> = {};
  for (const upload of uploads) for (const status of upload.statuses) if (status !== 202) retriedStatuses[status] = (retriedStatuses[status] ?? 0) + 1;

  const pendingJobCount = Object.values(jobs).reduce((sum, counts) => sum + PENDING_STATES.reduce((s, state) => s + (counts[state] ?? 0), 0), 0);
  const activeJobs = Object.entries(jobs).map(([name, counts]) => `${name} ${counts.active ?? 0}`);
  const checks: Check[] = [
    {
      name: "faults injected and repaired",
      ok: faults.every((f) => !f.error),
      detail:
        faults
          .filter((f) => f.error)
          .map((f) => `${f.kind}: ${f.error}`)
          .join("; ") || `${faults.length} faults`,
    },
    { name: "uploads accepted", ok: mine.length > 0, detail: `${mine.length} of ${uploads.length}` },
    {
      name: "every accepted upload final",
      ok: final.notFinal === 0 && final.notFound === 0,
      detail: `${final.active} active, ${final.failed} failed, ${final.notFinal} not final, ${final.notFound} not found`,
    },
    {
      name: "no Asset processing",
      ok: stuckProcessing.length === 0,
      detail: stuckProcessing.length
        ? stuckProcessing.map((s) => `${s.assetId} (${s.acknowledged ? "accepted" : "never acknowledged"}; job ${s.job})`).join(", ")
        : "0",
    },
    { name: "no job active", ok: Object.values(jobs).every((counts) => (counts.active ?? 0) === 0), detail: activeJobs.join(", ") },
    { name: "no job left waiting or delayed", ok: pendingJobCount === 0, detail: `${pendingJobCount} pending` },
    {
      name: "every socket knows every outcome of its owner",
      ok: events.missing === 0,
      detail: events.missing ? `${events.missing} missing, e.g. ${missingExamples.join(", ")}` : `${events.live + events.caughtUp} known`,
    },
    { name: "what sockets know matches the API", ok: events.mismatched === 0, detail: `${events.mismatched} mismatched` },
    { name: "no final event twice on a socket", ok: events.duplicates === 0, detail: `${events.duplicates} duplicates` },
    { name: "pipeline quiet within the bound", ok: context.quiescence.reached, detail: `${(context.quiescence.ms / 1000).toFixed(1)} s` },
  ];
  return {
    seed: context.options.seed,
    durationS: context.options.durationS,
    rate: context.options.rate,
    users: users.length,
    sockets: sockets.length,
    faults,
    uploads: {
      sent: uploads.length,
      accepted: mine.length,
      acceptedAfterRetry: mine.filter((u) => u.statuses.length > 1).length,
      replayed: mine.filter((u) => u.replayed).length,
      refused: uploads.length - mine.length,
      retriedStatuses,
    },
    final,
    refused: uploads
      .filter((u) => u.outcome === "refused")
      .map((u) => ({ index: u.index, user: u.user, atMs: u.sentAt - context.timing.loadStarted, statuses: u.statuses })),
    unacknowledged,
    stuckProcessing,
    progressAfterFinal,
    duplicates,
    jobs,
    aiCalls: context.aiCalls,
    events,
    quiescence: context.quiescence,
    timing: {
      loadStartedAt: context.timing.loadStarted,
      setupMs: context.timing.loadStarted - context.timing.runStarted,
      loadMs: context.timing.loadEnded - context.timing.loadStarted,
      totalMs: Date.now() - context.timing.runStarted,
      loadLagMs: context.timing.loadLagMs,
    },
    checks,
    passed: checks.every((check) => check.ok),
  };
}

/**
 * How long a fault took to heal, as users saw it: until every upload accepted
 * before it (and not yet known to all its owner's sockets then) was, the
 * first upload sent after it was accepted, and the sockets it cut were
 * connected again. Faults that overlap share their delays.
 */
function recoveryOf(fault: InjectedFault, mine: (UploadRecord & { assetId: string })[], uploads: UploadRecord[], sockets: ChaosSocket[]): number {
  const t = fault.startedAt;
  let until = t;
  for (const upload of mine) {
    if (upload.answeredAt > t) continue;
    const owners = sockets.filter((socket) => socket.options.user === upload.user);
    const knownAt = owners.map((socket) => socket.known.get(upload.assetId)?.at ?? Number.POSITIVE_INFINITY);
    const allKnown = Math.max(...knownAt);
    if (allKnown > t) until = Math.max(until, allKnown);
  }
  const firstAccepted = uploads
    .filter((u) => u.sentAt >= t && u.outcome === "accepted")
    .reduce((min, u) => Math.min(min, u.answeredAt), Number.POSITIVE_INFINITY);
  if (Number.isFinite(firstAccepted)) until = Math.max(until, firstAccepted);
  for (const socket of sockets) {
    const back = socket.reconnectedAfter(t, CUT_BY_FAULT_MS);
    if (back !== null) until = Math.max(until, back);
  }
  return until - t;
}

/** Per kind: how many, their down time, and the longest recovery. */
export function byKind(faults: FaultRecovery[]): Map<FaultKind, { count: number; downMs: number[]; longestRecoveryMs: number }> {
  const kinds = new Map<FaultKind, { count: number; downMs: number[]; longestRecoveryMs: number }>();
  for (const fault of faults) {
    const entry = kinds.get(fault.kind) ?? { count: 0, downMs: [], longestRecoveryMs: 0 };
    entry.count++;
    entry.downMs.push(fault.repairedAt - fault.startedAt);
    entry.longestRecoveryMs = Math.max(entry.longestRecoveryMs, fault.recoveryMs);
    kinds.set(fault.kind, entry);
  }
  return kinds;
}
