/**
 * A run's progress: each stage is sent to the owner's sockets as
 * `asset_progress` (a client event of its run: best effort, straight into the
 * sockets' stream), and the same Redis call records it on the run's BullMQ job
 * (what `job.progress` and GET /api/assets/:id read): one round trip a stage,
 * not two. Reports never hold the run up and may be lost; the run waits for
 * them (`settled`) before its outcome is recorded, so none follows the final
 * event in the stream.
 */
import { PROGRESS_STAGES, type ProgressStage } from "@pipeline/contracts/asset";
import type { ClientEvents } from "@pipeline/messaging";
import type { Logger } from "@pipeline/runtime/logger";

export interface RunProgress {
  report(stage: ProgressStage): void;
  /** Resolves once every report so far is written (or has failed). */
  settled(): Promise<void>;
}

export type ProgressReporter = (run: { jobId: string; assetId: string; userId: string }, log: Logger) => RunProgress;

export function progressReporter(emitter: Pick<ClientEvents, "emit">): ProgressReporter {
  return (run, log) => {
    const pending: Promise<unknown>[] = [];
    const warn = (error: unknown) => log.debug({ err: error }, "progress not reported");
    return {
      report(stage) {
        pending.push(
          emitter
            .emit({
              userId: run.userId,
              event: "asset_progress",
              payload: { assetId: run.assetId, stage, progress: PROGRESS_STAGES[stage], timestamp: new Date().toISOString() },
              runId: run.jobId,
            })
            .catch(warn),
        );
      },
      async settled() {
        await Promise.all(pending);
      },
    };
  };
}
