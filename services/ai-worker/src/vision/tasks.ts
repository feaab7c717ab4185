/**
 * What the ai-worker's event loop and its vision threads say to each other
 * (pool.ts sends, thread.ts serves), and the serving side: each thread runs
 * one task at a time on @pipeline/vision and answers with all it returned.
 */
import type { MessagePort } from "node:worker_threads";
import type { ExtractedMetadata } from "@pipeline/contracts/asset";
import { type AnalysisInput, analyzeImage, type Catalogue, type Cutout, closeOcr, removeBackground } from "@pipeline/vision";

export type VisionTask = { kind: "remove"; original: Uint8Array } | { kind: "analyze"; input: AnalysisInput };
export type VisionResult<T extends VisionTask> = T extends { kind: "remove" } ? Cutout : ExtractedMetadata;

export type ToThread = { type: "run"; id: number; task: VisionTask } | { type: "abort"; id: number } | { type: "close" };
export type FromThread =
  | { type: "done"; id: number; result: Cutout | ExtractedMetadata }
  | { type: "failed"; id: number; error: { name: string; message: string } };

/** What each thread is given at start (workerData). */
export interface ThreadData {
  /** Built once by the main thread (which checked CATALOGUE_PATH at start) and cloned into each thread. */
  catalogue: Catalogue;
}

function run(task: VisionTask, catalogue: Catalogue, signal: AbortSignal): Promise<Cutout | ExtractedMetadata> {
  return task.kind === "remove" ? removeBackground(task.original, { signal }) : analyzeImage(task.input, { catalogue, signal });
}

/**
 * The reply to a finished task and what it transfers. sharp's buffers are
 * external memory that cannot be transferred, so the cut-out is copied once
 * here, on this thread, rather than by the main thread's loop when it
 * deserialises a clone.
 */
function reply(id: number, result: Cutout | ExtractedMetadata): [FromThread, ArrayBuffer[]] {
  if (!("png" in result)) return [{ type: "done", id, result }, []];
  const png = new Uint8Array(result.png);
  return [{ type: "done", id, result: { ...result, png } }, [png.buffer]];
}

/** Serves tasks from `port` until a `close` message: then stops OCR and ends the thread. */
export function serveVisionTasks(port: MessagePort, { catalogue }: ThreadData): void {
  const running = new Map<number, AbortController>();
  port.on("message", async (message: ToThread) => {
    if (message.type === "abort") {
      running.get(message.id)?.abort(new Error("vision task abandoned by its job"));
      return;
    }
    if (message.type === "close") {
      await closeOcr().catch(() => undefined);
      process.exit(0);
    }
    const controller = new AbortController();
    running.set(message.id, controller);
    try {
      port.postMessage(...reply(message.id, await run(message.task, catalogue, controller.signal)));
    } catch (error) {
      const { name, message: text } = error instanceof Error ? error : new Error(String(error));
      port.postMessage({ type: "failed", id: message.id, error: { name, message: text } } satisfies FromThread);
    } finally {
      running.delete(message.id);
    }
  });
}
