/**
 * What one asset costs on the Cloudinary path: requests and bytes as the
 * Cloudinary stand-in sees them (its API and its delivery host), for uploads
 * through the whole pipeline with STORAGE=cloudinary and
 * BACKGROUND_REMOVAL=cloudinary (the analyzer on the OpenAI-compatible
 * stand-in). Run on demand: `bun bench/cloudinary-cost.ts [--uploads 5]
 * [--pending 2] [--strict]`. Starts its own FerretDB, services and stand-ins
 * on loopback ports and stops them when done.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort, startFerretDb, stopProcess } from "../scripts/lib/processes.ts";
import { submitUpload } from "../test/helpers/api.ts";
import { productPhoto } from "../test/helpers/images.ts";
import { connectRecording } from "../test/helpers/sockets.ts";
import { Stack } from "../test/helpers/stack.ts";
import { newUserId, tokenFor } from "../test/helpers/tokens.ts";
import { type RecordedRequest, startCloudinaryStandIn } from "../test/standins/cloudinary.ts";
import { startOpenAiStandIn } from "../test/standins/openai.ts";

const { values: args } = parseArgs({
  options: {
    uploads: { type: "string", default: "5" },
    pending: { type: "string", default: "2" },
    strict: { type: "boolean", default: false },
  },
});
const uploads = Number(args.uploads);

const dataDir = mkdtempSync(join(tmpdir(), "bench-ferret-"));
const ferretPort = await freePort();
const ferret = await startFerretDb({ port: ferretPort, dataDir, quiet: true });
process.env.TEST_MONGO_BASE = `mongodb://127.0.0.1:${ferretPort}`;
const cloud = startCloudinaryStandIn({ backgroundRemovalPending: Number(args.pending), strict: args.strict });
const ai = startOpenAiStandIn({ apiKey: "sk-bench" });
const host = new URL(cloud.url).host;
const stack = await Stack.start({
  services: ["ingest", "ai-worker", "notifier", "gateway"],
  env: {
    STORAGE: "cloudinary",
    // Delivery over plain HTTP on the stand-in's own host: the SDK's cname with secure=false.
    CLOUDINARY_URL: `cloudinary://${cloud.apiKey}:${cloud.apiSecret}@${cloud.cloudName}?upload_prefix=${cloud.url}&cname=${host}&secure=false`,
    CLOUDINARY_UPLOAD_PREFIX: cloud.url,
    BACKGROUND_REMOVAL: "cloudinary",
    ANALYZER: "openai",
    AI_BASE_URL: ai.url,
    AI_API_KEY: "sk-bench",
    AI_MODEL: "vision-stand-in",
  },
});

try {
  const token = await tokenFor(newUserId());
  const socket = await connectRecording(stack.get("notifier").url, token);
  const photo = await productPhoto({ format: "jpeg", size: 1024 });
  for (let i = 0; i < uploads; i++) {
    const { assetId } = await submitUpload(stack.gatewayUrl, token, photo, "sneaker", "image/jpeg");
    while (!socket.events.some((e) => e.assetId === assetId)) await Bun.sleep(20);
  }
  const failed = socket.events.filter((e) => e.status !== "active").length;
  socket.close();

  const kinds = new Map<string, RecordedRequest[]>();
  for (const request of cloud.requests) {
    const kind =
      request.method === "POST" ? `POST ${request.path.split("/").pop()}` : request.path.includes("e_background_removal") ? "GET derived" : "GET original";
    kinds.set(kind, [...(kinds.get(kind) ?? []), request]);
  }
  const perAsset = (n: number) => (n / uploads).toFixed(1);
  console.log(
    `cloudinary path: ${uploads} uploads of a ${photo.byteLength} B 1024 px JPEG, ${args.pending} x 423 per removal, strict ${args.strict}; failed outcomes: ${failed}`,
  );
  console.log("per asset            requests   bytes up   bytes down");
  let [requests, up, down] = [0, 0, 0];
  for (const [kind, list] of kinds) {
    const sum = (pick: (r: RecordedRequest) => number) => list.reduce((total, r) => total + pick(r), 0);
    requests += list.length;
    up += sum((r) => r.bytesIn);
    down += sum((r) => r.bytesOut);
    console.log(
      `${kind.padEnd(20)} ${perAsset(list.length).padStart(8)} ${perAsset(sum((r) => r.bytesIn)).padStart(10)} ${perAsset(sum((r) => r.bytesOut)).padStart(12)}`,
    );
  }
  console.log(`${"total".padEnd(20)} ${perAsset(requests).padStart(8)} ${perAsset(up).padStart(10)} ${perAsset(down).padStart(12)}`);
} finally {
  await stack.stop();
  await cloud.stop();
  await ai.stop();
  await stopProcess(ferret);
  rmSync(dataDir, { recursive: true, force: true });
}
