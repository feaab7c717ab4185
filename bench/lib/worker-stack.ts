/**
 * The pipeline on the local providers with one ai-worker replica whose
 * settings a benchmark chooses (bench/event-loop.ts, bench/vision-threads.ts):
 * its own database server (bench/lib/database.ts) and services on loopback ports (test/helpers/stack.ts),
 * one user with a socket, uploads through the gateway, and the wait for each
 * upload's `asset_processed`.
 */
import sharp from "sharp";
import { setAiQueuePaused, submitUpload } from "../../test/helpers/api.ts";
import { connectRecording, type RecordingSocket } from "../../test/helpers/sockets.ts";
import { type ServiceHandle, Stack } from "../../test/helpers/stack.ts";
import { newUserId, tokenFor } from "../../test/helpers/tokens.ts";
import { startDatabase } from "./database.ts";

export interface WorkerStack {
  worker: ServiceHandle;
  /** Uploads a JPEG through the gateway; returns its asset id. */
  upload(jpeg: Uint8Array): Promise<string>;
  /** Resolves when every asset in `ids` has had its event; rejects after `timeoutMs`. Returns how many were not `active`. */
  settled(ids: string[], timeoutMs: number): Promise<number>;
  /** Holds the AI jobs in the queue (uploads still go in) until resumed, so a measurement starts with the work already queued. */
  pauseJobs(): Promise<void>;
  resumeJobs(): Promise<void>;
  stop(): Promise<void>;
}

/** The gateway's rate limits out of the way: a benchmark sends more than a user would. */
const UNLIMITED = { RATE_LIMIT_PER_MINUTE: "1000000", UPLOAD_RATE_LIMIT_PER_MINUTE: "1000000", IP_RATE_LIMIT_PER_MINUTE: "1000000" };

export async function startWorkerStack(workerEnv: Record<string, string>): Promise<WorkerStack> {
  const database = await startDatabase();
  const mongoUrl = database.url("bench");
  // Set, MONGO_URL keeps the test stack from starting a database server of its own.
  process.env.MONGO_URL = mongoUrl;
  let stack: Stack | undefined;
  let socket: RecordingSocket | undefined;
  const stop = async () => {
    socket?.close();
    await stack?.stop();
    await database.stop();
  };
  try {
    stack = await Stack.start({
      services: ["ingest", "notifier", "gateway"],
      env: { MONGO_URL: mongoUrl, BACKGROUND_REMOVAL: "local", ANALYZER: "local", ...UNLIMITED },
    });
    const worker = await stack.add("ai-worker", workerEnv);
    const token = await tokenFor(newUserId());
    socket = await connectRecording(stack.get("notifier").url, token);
    const events = socket.events;
    const gatewayUrl = stack.gatewayUrl;
    const adminToken = await tokenFor(newUserId(), { role: "admin" });
    const setPaused = async (paused: boolean) => {
      if (!(await setAiQueuePaused(gatewayUrl, adminToken, paused))) throw new Error(`the AI queue could not be ${paused ? "paused" : "resumed"}`);
    };
    return {
      worker,
      upload: async (jpeg) => (await submitUpload(gatewayUrl, token, jpeg, "camera", "image/jpeg")).assetId,
      async settled(ids, timeoutMs) {
        const deadline = performance.now() + timeoutMs;
        const done = () => ids.every((id) => events.some((e) => e.assetId === id));
        while (!done()) {
          if (performance.now() > deadline)
            throw new Error(`${ids.filter((id) => !events.some((e) => e.assetId === id)).length} events still missing after ${timeoutMs} ms`);
          await Bun.sleep(5);
        }
        return events.filter((e) => ids.includes(e.assetId) && e.status !== "active").length;
      },
      pauseJobs: () => setPaused(true),
      resumeJobs: () => setPaused(false),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A product photo as a camera shoots it: an item with a printed label on a
 * graded studio backdrop, with sensor noise (seeded, the same every run), as
 * a JPEG of `width` x `height`.
 */
export async function cameraPhoto(width: number, height: number, seed = 7): Promise<Uint8Array> {
  const s = width / 1024;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="#f4f4f2"/><stop offset="1" stop-color="#cfcfca"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#bg)"/>
    <g transform="scale(${s})">
      <rect x="200" y="250" width="620" height="360" rx="40" fill="#222"/>
      <rect x="330" y="190" width="200" height="80" rx="12" fill="#2a2a2a"/>
      <circle cx="600" cy="460" r="125" fill="#555"/><circle cx="600" cy="460" r="75" fill="#111"/>
      <text x="240" y="320" font-family="DejaVu Sans" font-weight="bold" font-size="40" fill="#fff">Canon EOS R5</text>
    </g>
  </svg>`;
  const clean = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer();
  let state = seed >>> 0;
  const noisy = new Uint8Array(clean.length);
  for (let i = 0; i < clean.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    noisy[i] = Math.max(0, Math.min(255, clean[i]! + ((state >>> 24) % 25) - 12)); // ±12 levels: a JPEG about as large as a camera's
  }
  return new Uint8Array(
    await sharp(noisy, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 85 })
      .toBuffer(),
  );
}
