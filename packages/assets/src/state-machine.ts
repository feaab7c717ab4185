/**
 * The Asset's status machine, in one place. Status only moves forward:
 * draft -> processing -> active | failed, and failed -> processing on a retry;
 * the owner may archive an active Asset and bring it back. A re-analysis of
 * an active Asset keeps its status (and its results until the new ones are
 * in); a failed Asset's re-analysis is its retry.
 * A job run may move an Asset only while the Asset still names that run's
 * job id, so a late or duplicate run never overwrites a newer state. The
 * repository turns each transition into one conditional update.
 */
import type { AssetStatus } from "@pipeline/contracts/asset";

interface Transition {
  from: readonly AssetStatus[];
  /** null: the status stays what it is. */
  to: AssetStatus | null;
  /** The Asset must name the acting job (`processingJobId`), or have none recorded yet. */
  requiresJob: boolean;
}

export const TRANSITIONS = {
  /** A run finished: the cut-out and metadata are stored. */
  complete: { from: ["processing"], to: "active", requiresJob: true },
  /** A run failed for good (or could not be queued): the reason is stored. */
  fail: { from: ["draft", "processing"], to: "failed", requiresJob: true },
  /** The owner (or an operator) queues a failed Asset again, under a new job id. */
  retry: { from: ["failed"], to: "processing", requiresJob: false },
  /** The owner puts an active Asset away (or sets it again: archiving an archived Asset changes nothing). */
  archive: { from: ["active", "archived"], to: "archived", requiresJob: false },
  /** The owner brings an archived Asset back. */
  unarchive: { from: ["archived", "active"], to: "active", requiresJob: false },
  /**
   * The owner (or an operator) has an active Asset analysed again, under a new job id: it stays active and
   * keeps serving its results. (A failed Asset is re-analysed through `retry`.)
   */
  reanalyze: { from: ["active"], to: "active", requiresJob: false },
  /** That run finished: its cut-out and metadata replace the old; the status stays (active, or archived meanwhile). */
  reanalyzed: { from: ["active", "archived"], to: null, requiresJob: true },
  /** That run failed for good: the old results stay and the error is recorded beside them; the status stays. */
  reanalysisFailed: { from: ["active", "archived"], to: null, requiresJob: true },
} as const satisfies Record<string, Transition>;
export type TransitionName = keyof typeof TRANSITIONS;

export function canTransition(name: TransitionName, from: AssetStatus): boolean {
  return (TRANSITIONS[name].from as readonly AssetStatus[]).includes(from);
}
