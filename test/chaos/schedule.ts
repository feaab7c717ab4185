/**
 * The fault schedule of a chaos run, drawn from its seed: for each kind of
 * fault, the run is cut into equal slots and one fault lands at a random
 * moment of each slot, so faults are spread over the whole run (never all in
 * one corner) yet their moments and overlaps differ from seed to seed.
 */
import { stream } from "./random.ts";

export const FAULT_KINDS = ["kill-ai-worker", "kill-notifier", "kill-ingest", "restart-redis", "drop-sockets"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const FAULT_LABELS: Record<FaultKind, string> = {
  "kill-ai-worker": "SIGKILL an ai-worker, restart it",
  "kill-notifier": "SIGKILL a notifier, restart it (same port)",
  "kill-ingest": "SIGKILL ingest, restart it (same port)",
  "restart-redis": "restart Redis (stop, start, same port)",
  "drop-sockets": "drop every socket at the proxies",
};

/** Mean seconds between two faults of a kind. */
const MEAN_INTERVAL_S: Record<FaultKind, number> = {
  "kill-ai-worker": 15,
  "kill-notifier": 15,
  "kill-ingest": 20,
  "restart-redis": 20,
  "drop-sockets": 10,
};

/** How long the victim stays down before it is started again, ms (a dropped socket reconnects by itself). */
const DOWN_MS: Record<FaultKind, [number, number]> = {
  "kill-ai-worker": [300, 3000],
  "kill-notifier": [300, 3000],
  "kill-ingest": [300, 2000],
  "restart-redis": [500, 4000],
  "drop-sockets": [0, 0],
};

export interface PlannedFault {
  kind: FaultKind;
  /** Milliseconds after the start of the load. */
  atMs: number;
  downMs: number;
  /** Which replica, for kinds with several (taken modulo their number). */
  target: number;
}

export function planFaults(seed: number, durationMs: number): PlannedFault[] {
  // No fault in the first and last moments: the first uploads show the stack working, and the last fault still gets load around it.
  const margin = Math.min(5000, durationMs * 0.1);
  const window = durationMs - 2 * margin;
  const plan: PlannedFault[] = [];
  for (const kind of FAULT_KINDS) {
    const random = stream(seed, kind);
    const count = Math.max(1, Math.round(durationMs / 1000 / MEAN_INTERVAL_S[kind]));
    const slot = window / count;
    const [minDown, maxDown] = DOWN_MS[kind];
    for (let i = 0; i < count; i++) {
      const downMs = Math.round(random.between(minDown, maxDown));
      // Within its slot, leaving room for the outage, so faults of one kind never overlap.
      const atMs = Math.round(margin + i * slot + random.next() * Math.max(0, slot - downMs));
      plan.push({ kind, atMs, downMs, target: random.index(2) });
    }
  }
  return plan.sort((a, b) => a.atMs - b.atMs);
}
