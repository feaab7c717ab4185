/**
 * The ai-worker's vision threads: @pipeline/vision runs on a fixed number of
 * worker threads (VISION_THREADS), so the event loop only orchestrates (lock
 * renewals, /healthz and shutdown are never held up by image work) and a
 * replica uses as many cores as it has threads.
 *
 * - Each thread runs one task at a time; the rest wait in order.
 * - Inputs are cloned (the job still needs its bytes); the cut-out comes back
 *   transferred, not copied.
 * - A task whose signal aborts is rejected at once with the signal's reason;
 *   its thread is told to stop and takes new work once it has.
 * - A thread that dies (an uncaught error, running out of memory) is
 *   replaced; its task fails with a TransientError, so the job retries.
 * - close() lets the tasks in flight finish, then stops the threads.
 */
import { Worker } from "node:worker_threads";
import type { ExtractedMetadata } from "@pipeline/contracts/asset";
import { TransientError } from "@pipeline/runtime/errors";
import { type AnalysisInput, type Catalogue, type Cutout, UnreadableImageError } from "@pipeline/vision";
import type { FromThread, ThreadData, ToThread, VisionResult, VisionTask } from "./tasks.ts";

const THREAD_ENTRY = new URL("./thread.ts", import.meta.url);
/** A thread that dies sooner than this after it started counts as failing to start: its replacement waits, longer each time. */
const HEALTHY_AFTER_MS = 1_000;
const MAX_RESTART_DELAY_MS = 5_000;
/** How long close() waits for a thread to stop OCR and exit before terminating it. */
const EXIT_GRACE_MS = 2_000;

export interface VisionPoolOptions {
  threads: number;
  catalogue: Catalogue;
  /** Where a thread's failure is told (the service's logger). */
  logger: { warn(details: object, message: string): void };
  /** The thread's entry module (tests start threads that misbehave). */
  entry?: URL;
}

interface Task {
  id: number;
  message: Extract<ToThread, { type: "run" }>;
  resolve: (result: Cutout | ExtractedMetadata) => void;
  reject: (error: unknown) => void;
  /** Set once the caller has had its answer (an abort): the thread's reply is then only a sign that it is free. */
  settled: boolean;
  /** Resolves once settled: close() waits on it. */
  answered: Promise<void>;
  onSettled: () => void;
}

interface Slot {
  worker: Worker;
  startedAt: number;
  task: Task | null;
  exited: boolean;
}

export class VisionPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closing = false;
  private crashesInARow = 0;
  private readonly entry: URL;

  constructor(private readonly options: VisionPoolOptions) {
    this.entry = options.entry ?? THREAD_ENTRY;
    for (let i = 0; i < options.threads; i++) this.slots.push(this.start());
  }

  get threads(): number {
    return this.slots.length;
  }

  removeBackground(original: Uint8Array, signal: AbortSignal): Promise<Cutout> {
    return this.run({ kind: "remove", original }, signal);
  }

  analyze(input: AnalysisInput, signal: AbortSignal): Promise<ExtractedMetadata> {
    return this.run({ kind: "analyze", input }, signal);
  }

  private run<T extends VisionTask>(visionTask: T, signal: AbortSignal): Promise<VisionResult<T>> {
    if (this.closing) return Promise.reject(new TransientError("vision pool is shutting down"));
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const onAbort = () => this.abandon(task, signal.reason);
      const answered = Promise.withResolvers<void>();
      const task: Task = {
        id,
        message: { type: "run", id, task: visionTask },
        resolve: resolve as (result: Cutout | ExtractedMetadata) => void,
        reject,
        settled: false,
        answered: answered.promise,
        onSettled: () => {
          signal.removeEventListener("abort", onAbort);
          answered.resolve();
        },
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.queue.push(task);
      this.dispatch();
    });
  }

  /** Gives waiting tasks to idle threads, in order. */
  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.task !== null || slot.exited) continue; // a dead thread's replacement takes the work when it starts
      const task = this.queue.shift();
      if (!task) return;
      slot.task = task;
      slot.worker.postMessage(task.message satisfies ToThread);
    }
  }

  /** The caller stops waiting now; a running task's thread is asked to stop it and stays busy until it has. */
  private abandon(task: Task, reason: unknown): void {
    this.settle(task, () => task.reject(reason));
    const waiting = this.queue.indexOf(task);
    if (waiting >= 0) {
      this.queue.splice(waiting, 1);
      return;
    }
    this.slots.find((slot) => slot.task === task)?.worker.postMessage({ type: "abort", id: task.id } satisfies ToThread);
  }

  private settle(task: Task, answer: () => void): void {
    if (task.settled) return;
    task.settled = true;
    task.onSettled();
    answer();
  }

  private start(): Slot {
    const worker = new Worker(this.entry, { workerData: { catalogue: this.options.catalogue } satisfies ThreadData, name: "vision" });
    const slot: Slot = { worker, startedAt: performance.now(), task: null, exited: false };
    worker.on("message", (message: FromThread) => this.answered(slot, message));
    worker.on("error", (error) => this.options.logger.warn({ err: error }, "vision thread failed"));
    worker.on("exit", (code) => this.exited(slot, code));
    return slot;
  }

  private answered(slot: Slot, message: FromThread): void {
    const task = slot.task;
    if (task === null || task.id !== message.id) return;
    slot.task = null;
    this.crashesInARow = 0;
    this.settle(task, () => (message.type === "done" ? task.resolve(message.result) : task.reject(rebuilt(message.error))));
    this.dispatch();
  }

  /** A thread ended: its task (if any) fails transiently and, unless the pool is closing, a new thread takes its place. */
  private exited(slot: Slot, code: number): void {
    slot.exited = true;
    const task = slot.task;
    slot.task = null;
    if (task) this.settle(task, () => task.reject(new TransientError(`vision thread stopped (exit code ${code}) during the task; it was restarted`)));
    if (this.closing) return;
    const lived = performance.now() - slot.startedAt;
    const delay = lived < HEALTHY_AFTER_MS ? Math.min(MAX_RESTART_DELAY_MS, 100 * 2 ** this.crashesInARow++) : 0;
    this.options.logger.warn({ code, hadTask: task !== null, restartInMs: delay }, "vision thread stopped; replacing it");
    const index = this.slots.indexOf(slot);
    setTimeout(() => {
      if (this.closing) return;
      this.slots[index] = this.start();
      this.dispatch();
    }, delay);
  }

  /** Waits for the tasks in flight, then stops every thread (each stops its OCR worker first). Waiting tasks are refused. */
  async close(): Promise<void> {
    this.closing = true;
    for (const task of this.queue.splice(0)) this.settle(task, () => task.reject(new TransientError("vision pool is shutting down")));
    await Promise.all(this.slots.map((slot) => this.stop(slot)));
  }

  private async stop(slot: Slot): Promise<void> {
    await slot.task?.answered;
    if (slot.exited) return;
    const exited = new Promise((resolve) => slot.worker.once("exit", resolve));
    slot.worker.postMessage({ type: "close" } satisfies ToThread);
    const timer = setTimeout(() => void slot.worker.terminate(), EXIT_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
}

/** The thread's error as the worker classifies it: an image that does not decode stays permanent; anything else keeps its message. */
function rebuilt({ name, message }: { name: string; message: string }): Error {
  if (name === UnreadableImageError.name) return new UnreadableImageError(message);
  const error = new Error(message);
  error.name = name;
  return error;
}
