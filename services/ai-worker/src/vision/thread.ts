/** Entry of a vision thread (started by pool.ts): serves the pool's tasks. */
import { parentPort, workerData } from "node:worker_threads";
import { serveVisionTasks, type ThreadData } from "./tasks.ts";

if (!parentPort) throw new Error("vision/thread.ts runs as a worker thread of the vision pool");
serveVisionTasks(parentPort, workerData as ThreadData);
