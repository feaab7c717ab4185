/**
 * `bun run bench [--quick]`: the pipeline's benchmark, on demand (never in
 * CI or tests). In one go, on this machine:
 *
 *   1. ceilings: bare BullMQ, the bare database, a bare Bun.serve upload;
 *   2. the pipeline at a fixed offered load (open loop), empty database;
 *   3. scaling: 1 against 2 ai-worker replicas with a 200 ms AI endpoint;
 *   4. the same load as 2 with many Assets already stored (run last: on
 *      FerretDB it can leave the server busy for a while);
 *   5. RSS of every process idle and after the load (in 2 and 4).
 *
 * Writes bench/results.json and the table in docs/performance.md between
 * `<!-- bench:start -->` and `<!-- bench:end -->`, and prints it. Needs the
 * Redis at REDIS_URL; starts its own database server (bench/lib/database.ts),
 * AI endpoint and services on free loopback ports, and stops them all.
 *
 * Options: `bun run bench --help`.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { redisAnswers } from "../scripts/lib/processes.ts";
import { startPrivateRedis } from "../scripts/lib/redis.ts";
import { type AiEndpoint, startAiEndpoint } from "./lib/ai-endpoint.ts";
import { bullmqCeiling, databaseCeiling, uploadCeiling } from "./lib/ceilings.ts";
import { makeUsers } from "./lib/clients.ts";
import { type BenchDatabase, startDatabase } from "./lib/database.ts";
import { BENCH_IMAGE, benchImage } from "./lib/image.ts";
import { machineInfo } from "./lib/machine.ts";
import { redisServerPid, redisWatched, REDIS_URL as SHARED_REDIS_URL } from "./lib/redis.ts";
import { type BenchResults, deriveRatios, markdown, updateMarkedSection } from "./lib/report.ts";
import { log, pipelineScenario, scalingScenario } from "./lib/scenarios.ts";
import { seedAssets } from "./lib/seed.ts";
import { BenchStack } from "./lib/stack.ts";

const USAGE = `bun run bench [options]      (defaults; --quick changes those marked *)
  --quick              a shorter run for development
  --rate 100           uploads per second offered (open loop; the load point of the CPU targets)
  --duration 60*       seconds of load (quick: 20)
  --users 20           users, each with a socket
  --seed 100000        Assets stored before the last scenario (0 skips it)
  --seed-users 100     users they belong to (the benchmark's among them)
  --ceiling 5*         seconds per ceiling (quick: 3)
  --drain 120*         seconds at most to wait for the last events; the wait
                       also ends after 15 s without any (quick: 60)
  --scale 20*          seconds counted per scaling run (quick: 10; 0 skips it)
  --scale-clients 24   closed-loop clients in the scaling runs
  --list 50            GET /api/assets requests per scenario
  --list-budget 60*    seconds at most for them (quick: 30)
  --private-redis      start a redis-server of its own (tuned as compose.yaml's), not the one at REDIS_URL:
                       its CPU and memory are then the pipeline's alone
  --cpu-prof DIR       write each service's CPU profile (bun --cpu-prof, .cpuprofile and .md) into DIR
  --logs               show the services' logs (LOG_LEVEL=warn)
  --no-docs            do not touch docs/performance.md`;

const { values: args } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    help: { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
    rate: { type: "string" },
    duration: { type: "string" },
    users: { type: "string" },
    seed: { type: "string" },
    "seed-users": { type: "string" },
    ceiling: { type: "string" },
    drain: { type: "string" },
    scale: { type: "string" },
    "scale-clients": { type: "string" },
    list: { type: "string" },
    "list-budget": { type: "string" },
    logs: { type: "boolean", default: false },
    "no-docs": { type: "boolean", default: false },
    "private-redis": { type: "boolean", default: false },
    "cpu-prof": { type: "string" },
  },
});

if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

/** A numeric option: its value, else the --quick default, else the default. */
function option(name: keyof typeof args, normal: number, quick = normal): number {
  const raw = args[name];
  const value = typeof raw === "string" ? Number(raw) : args.quick ? quick : normal;
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number ≥ 0`);
  return value;
}

const settings = {
  ratePerS: option("rate", 100),
  durationS: option("duration", 60, 20),
  users: option("users", 20),
  seed: option("seed", 100_000),
  seedUsers: option("seed-users", 100),
  ceilingS: option("ceiling", 5, 3),
  drainS: option("drain", 120, 60),
  scaleS: option("scale", 20, 10),
  scaleClients: option("scale-clients", 24),
  listRequests: option("list", 50),
  listBudgetS: option("list-budget", 60, 30),
};
if (!(settings.ratePerS > 0 && settings.durationS > 0 && settings.users >= 1)) throw new Error("--rate, --duration and --users must be positive");

const startedAt = performance.now();
const machine = machineInfo();
// Everything started here is stopped on the way out, also on Ctrl-C: services first, then what they use.
const stops: (() => Promise<unknown>)[] = [];
const privateRedis = args["private-redis"] ? await startPrivateRedis({ dataDir: mkdtempSync(join(tmpdir(), "bench-redis-")) }) : null;
if (privateRedis) stops.push(() => privateRedis.stop());
const REDIS_URL = privateRedis?.url ?? SHARED_REDIS_URL;
if (!(await redisAnswers(REDIS_URL))) {
  console.error(`bench: Redis does not answer at ${REDIS_URL}; start one or set REDIS_URL`);
  process.exit(1);
}

let stopping = false;
async function stopAll(): Promise<void> {
  if (stopping) return;
  stopping = true;
  const all = [...[...BenchStack.running].map((stack) => () => stack.stop()), ...stops.reverse()];
  for (const stop of all) await stop().catch((error) => console.error("bench: cleanup:", (error as Error).message));
}
process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));
process.on("SIGTERM", () => void stopAll().then(() => process.exit(143)));

try {
  const redisPid = await redisServerPid(REDIS_URL);
  if (redisPid === null) console.warn("bench: redis-server's process is not visible here; its CPU and RSS are not reported");
  const redis = redisWatched(redisPid);
  const database: BenchDatabase = await startDatabase();
  stops.push(() => database.stop());
  const run = Date.now().toString(36);
  const image = await benchImage();
  const jwtSecret = `bench-${crypto.randomUUID()}`;
  const allUsers = await makeUsers(Math.max(settings.users, settings.seedUsers), jwtSecret);
  const users = allUsers.slice(0, settings.users);
  const startAi = (delayMs?: number): AiEndpoint => {
    const ai = startAiEndpoint(delayMs ? { delayMs } : {});
    stops.push(() => ai.stop());
    return ai;
  };
  const stackSettings = (name: string, ai: AiEndpoint) => ({
    mongoUrl: database.url(`bench_${run}_${name}`),
    redisUrl: REDIS_URL,
    jwtSecret,
    ai,
    logs: args.logs,
    ...(args["cpu-prof"] ? { cpuProfDir: resolve(args["cpu-prof"]) } : {}),
  });
  const bench = { name: "bench", pids: () => [process.pid] };

  log(`bench: ${machine.cpuModel}, ${machine.cores} cores, Bun ${machine.bun}; ${database.label}; Redis ${REDIS_URL} (pid ${redisPid ?? "?"})`);
  log(`1/4 ceilings, ${settings.ceilingS} s each`);
  const ceilings = {
    bullmq: await bullmqCeiling({ redisUrl: REDIS_URL, durationS: settings.ceilingS, redis }),
    database: await databaseCeiling({
      mongoUrl: database.url(`bench_${run}_ceiling`),
      dialect: database.dialect,
      durationS: settings.ceilingS,
      database: database.processes,
    }),
    upload: await uploadCeiling({ image, durationS: settings.ceilingS }),
  };
  log(
    `  BullMQ ${Math.round(ceilings.bullmq.perS)} jobs/s, database ${Math.round(ceilings.database.perS)} ops/s, Bun.serve ${Math.round(ceilings.upload.perS)} uploads/s`,
  );

  const instantAi = startAi();
  const load = {
    users,
    image,
    ratePerS: settings.ratePerS,
    durationS: settings.durationS,
    drainS: settings.drainS,
    listRequests: settings.listRequests,
    listBudgetS: settings.listBudgetS,
  };
  const alsoWatch = [...database.processes, ...redis, bench];
  log("2/4 pipeline, empty database");
  const empty = await pipelineScenario(stackSettings("empty", instantAi), { ...load, storedAssets: 0, alsoWatch });
  log(`  accepted ${empty.run.acceptedPerS}/s, completed ${empty.run.completedPerS}/s, p50 ${empty.run.latencyMs.p50} ms, p99 ${empty.run.latencyMs.p99} ms`);
  log(`  CPU ms per asset ${JSON.stringify(empty.run.cpuMsPerAsset)}; Redis ${empty.redis.perAssetBytes} B per retained asset`);

  let scaling: BenchResults["scaling"] = null;
  if (settings.scaleS > 0) {
    log(`3/4 scaling: 1 then 2 ai-worker replicas, AI endpoint 200 ms, ${settings.scaleClients} closed-loop clients`);
    const runs = await scalingScenario(stackSettings("scaling", startAi(200)), {
      users,
      image,
      clients: settings.scaleClients,
      warmupS: 3,
      durationS: settings.scaleS,
      alsoWatch,
    });
    scaling = { aiDelayMs: 200, ...runs };
  }

  let seeded: BenchResults["pipeline"]["seeded"] = null;
  if (settings.seed > 0) {
    const perUser = Math.ceil(settings.seed / settings.seedUsers);
    log(`4/4 pipeline with ${perUser * settings.seedUsers} Assets stored: seeding`);
    const mongoUrl = database.url(`bench_${run}_seeded`);
    let shown = 0;
    const seed = await seedAssets({
      mongoUrl,
      userIds: allUsers.slice(0, settings.seedUsers).map((u) => u.id),
      perUser,
      dialect: database.dialect,
      onProgress: (done, total) => {
        if (done - shown < total / 4 && done !== total) return;
        shown = done;
        log(`  ${done} / ${total}`);
      },
    });
    log(`  inserted in ${seed.insertS.toFixed(1)} s, indexes in ${seed.indexS.toFixed(1)} s`);
    const scenario = await pipelineScenario({ ...stackSettings("seeded", instantAi), mongoUrl }, { ...load, storedAssets: seed.documents, alsoWatch });
    seeded = { ...scenario, seed };
    log(`  accepted ${scenario.run.acceptedPerS}/s, completed ${scenario.run.completedPerS}/s, p50 ${scenario.run.latencyMs.p50} ms`);
  }

  const results: BenchResults = {
    command: `bun run bench${Bun.argv.slice(2).length ? ` ${Bun.argv.slice(2).join(" ")}` : ""}`,
    machine,
    database: database.label,
    redis: { url: privateRedis ? "a private redis-server (--private-redis)" : REDIS_URL, pid: redisPid },
    settings: {
      ratePerS: settings.ratePerS,
      durationS: settings.durationS,
      users: settings.users,
      image: `${BENCH_IMAGE.width}×${BENCH_IMAGE.height} WebP (${(image.length / 1024).toFixed(1)} KiB)`,
      ceilingS: settings.ceilingS,
      drainS: settings.drainS,
      workerConcurrency: process.env.WORKER_CONCURRENCY ?? "2 (default)",
    },
    ceilings,
    pipeline: { empty, seeded },
    scaling,
    ratios: deriveRatios(ceilings, empty, machine.cores),
    totalS: Math.round((performance.now() - startedAt) / 100) / 10,
  };
  await Bun.write(join(import.meta.dir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  const table = markdown(results);
  if (!args["no-docs"]) updateMarkedSection(join(import.meta.dir, "..", "docs", "performance.md"), table);
  console.log(`\n${table}\n\nbench: wrote bench/results.json${args["no-docs"] ? "" : " and docs/performance.md"}`);
} finally {
  await stopAll();
}
