/**
 * Stage-by-stage figures of the image work (bench/image-cost.ts,
 * bench/analyzer.ts): a StageTimer that records what each of the library's
 * named steps cost, and the table of them.
 */
import type { StageTimer } from "@pipeline/vision";

/** Each stage's costs, one per run, in the order the stages first ran. */
export type Samples = Map<string, number[]>;

/** Wall-clock milliseconds. */
export const wallMs = () => performance.now();
/** CPU milliseconds of the whole process (user + system, every thread: sharp's and Tesseract's included). */
export const cpuMs = () => {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
};

/** A StageTimer adding each step's cost, as `clock` reads it, to `samples`; a step that returns a promise is measured until it settles. */
export function recordingTimer(samples: Samples, clock: () => number): StageTimer {
  return <T>(stage: string, run: () => T): T => {
    const start = clock();
    const record = () => {
      const list = samples.get(stage) ?? [];
      list.push(clock() - start);
      samples.set(stage, list);
    };
    const result = run();
    if (result instanceof Promise) return result.finally(record) as T;
    record();
    return result;
  };
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** Prints mean, p50 and p95 of each stage; the sum of the means of the stages `summed` accepts, when given. */
export function printStages(samples: Samples, options: { unit: string; digits: number; summed?: (stage: string) => boolean }): void {
  const width = Math.max(20, ...[...samples.keys()].map((stage) => stage.length + 2));
  const cell = (value: number) => value.toFixed(options.digits).padStart(9);
  console.log(`${"stage".padEnd(width)}${"mean".padStart(9)}${"p50".padStart(9)}${"p95".padStart(9)}${"runs".padStart(6)}  (${options.unit})`);
  let sumOfMeans = 0;
  for (const [stage, values] of samples) {
    const sorted = [...values].sort((a, b) => a - b);
    const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
    if (options.summed?.(stage)) sumOfMeans += mean;
    console.log(`${stage.padEnd(width)}${cell(mean)}${cell(percentile(sorted, 0.5))}${cell(percentile(sorted, 0.95))}${String(values.length).padStart(6)}`);
  }
  if (options.summed) console.log(`${"sum of stage means".padEnd(width)}${cell(sumOfMeans)}`);
}
