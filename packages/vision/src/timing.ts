/**
 * A hook around each named step of the image work. The work runs its steps
 * through it; a benchmark passes one that measures them, so its stages are
 * the library's own and cannot drift from what the library does.
 */
export type StageTimer = <T>(stage: string, run: () => T) => T;

/** Runs the step, nothing else: the default. */
export const untimed: StageTimer = (_stage, run) => run();
