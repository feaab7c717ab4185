/**
 * A vision thread that dies, as one that runs out of memory would, when it is
 * given the bytes of "crash" to cut out; every other task it passes to the
 * real thread's code.
 */
import { MessageChannel, parentPort, workerData } from "node:worker_threads";
import { type FromThread, serveVisionTasks, type ThreadData, type ToThread } from "./tasks.ts";

export const CRASH = new TextEncoder().encode("crash");

const parent = parentPort;
if (parent) {
  const { port1, port2 } = new MessageChannel();
  parent.on("message", (message: ToThread) => {
    if (message.type === "run" && message.task.kind === "remove" && Buffer.from(message.task.original).equals(CRASH)) process.exit(7);
    port1.postMessage(message);
  });
  port1.on("message", (message: FromThread) => parent.postMessage(message));
  serveVisionTasks(port2, workerData as ThreadData);
}
