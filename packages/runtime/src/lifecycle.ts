/**
 * Graceful shutdown: on SIGTERM or SIGINT run the service's close steps in
 * order (stop taking work, finish or hand back in-flight work, close
 * connections) within a deadline, then exit 0. Past the deadline, exit 1.
 */
import type { Logger } from "./logger.ts";

export type CloseStep = { name: string; close: () => Promise<unknown> | unknown };

export function handleShutdown(logger: Logger, deadlineMs: number, steps: CloseStep[]): { isShuttingDown: () => boolean } {
  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal, deadlineMs }, "shutting down");
    const deadline = setTimeout(() => {
      logger.error({ deadlineMs }, "shutdown deadline passed; exiting with work possibly unfinished");
      process.exit(1);
    }, deadlineMs);
    for (const step of steps) {
      try {
        await step.close();
      } catch (error) {
        logger.warn({ err: error, step: step.name }, "close step failed");
      }
    }
    clearTimeout(deadline);
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  return { isShuttingDown: () => shuttingDown };
}

/** Logs a start-up failure (a bad variable, say) as one JSON line and exits 1. */
export function exitOnStartupError(logger: Logger, error: unknown): never {
  logger.fatal({ err: error }, error instanceof Error ? error.message : String(error));
  process.exit(1);
}
