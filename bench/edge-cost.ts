/**
 * On demand: CPU milliseconds per upload in the gateway and ingest alone
 * (no worker runs, so jobs just queue), read from /proc. A quick loop for
 * tuning the HTTP edge; `bun run bench` measures the whole pipeline.
 *
 *   bun bench/edge-cost.ts [uploads=400] [concurrency=8]
 */
import sharp from "sharp";
import { submitUpload } from "../test/helpers/api.ts";
import { stopSharedServers } from "../test/helpers/shared-servers.ts";
import { Stack } from "../test/helpers/stack.ts";
import { newUserId, tokenFor } from "../test/helpers/tokens.ts";

const uploads = Number(process.argv[2] ?? 400);
const concurrency = Number(process.argv[3] ?? 8);
const TICK_MS = 10; // USER_HZ 100 on Linux

function cpuMs(pid: number): number {
  const fields = require("node:fs").readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

const image = new Uint8Array(
  await sharp({ create: { width: 600, height: 400, channels: 3, background: "#e8e4dc" } })
    .composite([{ input: { create: { width: 300, height: 200, channels: 3, background: "#b02020" } }, left: 150, top: 100 }])
    .webp({ quality: 85 })
    .toBuffer(),
);
const stack = await Stack.start({ services: ["ingest", "gateway"], env: { RATE_LIMIT_PER_MINUTE: "1000000", UPLOAD_RATE_LIMIT_PER_MINUTE: "1000000" } });
try {
  const tokens = await Promise.all(Array.from({ length: 20 }, () => tokenFor(newUserId())));
  const run = async (count: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const i = next++;
          await submitUpload(stack.gatewayUrl, tokens[i % tokens.length]!, image, "sneaker", "image/webp");
        }
      }),
    );
  };
  await run(100);
  const pids = { gateway: stack.get("gateway").proc.pid, ingest: stack.get("ingest").proc.pid };
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid)]));
  const started = performance.now();
  await run(uploads);
  const seconds = (performance.now() - started) / 1000;
  console.log(`${uploads} uploads, concurrency ${concurrency}, ${(uploads / seconds).toFixed(0)}/s`);
  for (const [name, pid] of Object.entries(pids)) console.log(`${name}: ${((cpuMs(pid) - before[name]!) / uploads).toFixed(2)} ms CPU per upload`);
} finally {
  await stack.stop();
  // Outside `bun test` no preload stops the database and Redis the stack started.
  await stopSharedServers();
  process.exit(0);
}
