/**
 * The data layer per store adapter, on the embedded server (FerretDB v1 on
 * PostgreSQL): `bun bench/data-layer.ts [--uploads 300] [--seed 100000]
 * [--seed-users 100] [--samples 50] [--dialects ferretdb-v1,mongodb]`.
 * For each adapter, on an empty database and on one holding `--seed` Assets
 * (`--seed-users` owners), with the whole stack (an instant AI endpoint):
 * - `GET /api/assets?limit=20` of a user (1,000 Assets in the seeded one), p50/p95 over `--samples`;
 * - `--uploads` uploads through the gateway (4 at a time) until every job is done: CPU per upload of
 *   each service and of FerretDB and PostgreSQL (/proc/<pid>/stat), the MongoDB commands the services
 *   sent (their mongodb_commands_total) and PostgreSQL's transactions and rows (pg_stat_database) per upload.
 * Prints a table and writes bench/data-layer.json.
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { AI_QUEUE } from "@pipeline/messaging";
import type { MongoDialect } from "@pipeline/runtime/mongo";
import { Queue } from "bullmq";
import { postgresBinDir } from "../scripts/lib/embedded-db.ts";
import { startAiEndpoint } from "./lib/ai-endpoint.ts";
import { makeUsers } from "./lib/clients.ts";
import { type BenchDatabase, startDatabase } from "./lib/database.ts";
import { benchImage } from "./lib/image.ts";
import { sendUpload } from "./lib/load.ts";
import { startCpuWindow } from "./lib/proc-stats.ts";
import { REDIS_URL } from "./lib/redis.ts";
import { seedAssets } from "./lib/seed.ts";
import { BenchStack } from "./lib/stack.ts";

const { values } = parseArgs({
  options: {
    uploads: { type: "string", default: "300" },
    seed: { type: "string", default: "100000" },
    "seed-users": { type: "string", default: "100" },
    samples: { type: "string", default: "50" },
    dialects: { type: "string", default: "ferretdb-v1,mongodb" },
    states: { type: "string", default: "empty,seeded" },
    /** Also sample PostgreSQL's running statements during the uploads and print the most frequent. */
    "sample-sql": { type: "boolean", default: false },
  },
});
const UPLOADS = Number(values.uploads);
const SEED = Number(values.seed);
const SEED_USERS = Number(values["seed-users"]);
const SAMPLES = Number(values.samples);
const DIALECTS = String(values.dialects).split(",") as MongoDialect[];
const STATES = String(values.states).split(",");
const SECRET = "bench-data-layer-secret-0123456789";
const log = (line: string) => console.error(`data-layer: ${line}`);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

function psql(database: BenchDatabase, sql: string): string {
  const args = ["-X", "-A", "-t", "-F", ",", "-h", database.pgSocketDir, "-U", "ferretdb", "-d", "postgres", "-c", sql];
  const result = Bun.spawnSync([join(postgresBinDir(), "psql"), ...args]);
  if (!result.success) throw new Error(`psql: ${result.stderr.toString()}`);
  return result.stdout.toString().trim();
}

/** PostgreSQL's counters of the cluster's one database (FerretDB keeps each MongoDB database as a schema of `postgres`). */
async function pgCounters(database: BenchDatabase): Promise<Record<string, number>> {
  await Bun.sleep(11_000); // an idle backend flushes its statistics within 10 s
  const sql = "select xact_commit, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted from pg_stat_database where datname = 'postgres'";
  const [xact, returned, fetched, inserted, updated, deleted] = psql(database, sql).split(",").map(Number);
  return {
    transactions: xact ?? 0,
    rowsReturned: returned ?? 0,
    rowsFetched: fetched ?? 0,
    rowsInserted: inserted ?? 0,
    rowsUpdated: updated ?? 0,
    rowsDeleted: deleted ?? 0,
  };
}

/** The services' MongoDB commands so far, by command name, summed over the services. */
async function mongoCommands(stack: BenchStack): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  for (const name of ["ingest", "ai-worker", "notifier"] as const) {
    const text = await (await fetch(`${stack.get(name).url}/metrics`)).text();
    for (const match of text.matchAll(/^mongodb_commands_total\{[^}]*command="([^"]+)"[^}]*\} (\d+)/gm))
      totals[match[1]!] = (totals[match[1]!] ?? 0) + Number(match[2]);
  }
  return totals;
}

const minus = (after: Record<string, number>, before: Record<string, number>, per: number): Record<string, number> =>
  Object.fromEntries(
    Object.entries(after)
      .map(([key, value]) => [key, round((value - (before[key] ?? 0)) / per, 2)])
      .filter(([, value]) => value !== 0),
  );

async function firstPageLatency(gatewayUrl: string, token: string): Promise<{ p50: number; p95: number; items: number; total: number }> {
  const times: number[] = [];
  let last = { items: [] as unknown[], total: 0 };
  for (let i = 0; i < SAMPLES + 5; i++) {
    const started = performance.now();
    const response = await fetch(`${gatewayUrl}/api/assets?limit=20`, { headers: { authorization: `Bearer ${token}` } });
    last = (await response.json()) as typeof last;
    if (i >= 5) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: round(percentile(times, 50)), p95: round(percentile(times, 95)), items: last.items.length, total: last.total };
}

async function waitForJobs(prefix: string): Promise<void> {
  const queue = new Queue(AI_QUEUE, { connection: { url: REDIS_URL }, prefix });
  try {
    for (let i = 0; i < 1200; i++) {
      const counts = await queue.getJobCounts("waiting", "active", "delayed", "prioritized");
      if (Object.values(counts).every((count) => count === 0)) return;
      await Bun.sleep(250);
    }
    throw new Error("jobs did not finish within 5 minutes");
  } finally {
    await queue.close();
  }
}

async function scenario(database: BenchDatabase, dialect: MongoDialect, seeded: boolean, image: Uint8Array) {
  const name = `dl_${dialect.replace("-", "_")}_${seeded ? "seeded" : "empty"}_${Date.now().toString(36)}`;
  const mongoUrl = database.url(name);
  const users = await makeUsers(Math.max(SEED_USERS, 20), SECRET);
  let seed = null;
  if (seeded) {
    log(`${dialect}: seeding ${SEED} Assets for ${SEED_USERS} users`);
    seed = await seedAssets({ mongoUrl, userIds: users.slice(0, SEED_USERS).map((u) => u.id), perUser: Math.ceil(SEED / SEED_USERS), dialect });
    // Now rather than inside the measured window: autovacuum's analyze of the freshly loaded table.
    psql(database, "VACUUM (ANALYZE)");
  }
  process.env.MONGO_DIALECT = dialect;
  const ai = startAiEndpoint();
  const stack = await BenchStack.start({ mongoUrl, redisUrl: REDIS_URL, jwtSecret: SECRET, ai });
  try {
    await Bun.sleep(3000); // the background index builds
    const latency = await firstPageLatency(stack.gatewayUrl, (users[0] as { token: string }).token);
    const [commandsBefore, pgBefore] = [await mongoCommands(stack), await pgCounters(database)];
    const cpu = startCpuWindow([...stack.watched(), ...database.processes]);
    const sampled = new Map<string, number>();
    let sampling = values["sample-sql"];
    const sampler = (async () => {
      const sql = "select left(query, 160) from pg_stat_activity where state = 'active' and backend_type = 'client backend' and pid <> pg_backend_pid()";
      while (sampling) {
        for (const query of psql(database, sql).split("\n").filter(Boolean)) sampled.set(query, (sampled.get(query) ?? 0) + 1);
        await Bun.sleep(50);
      }
    })();
    let next = 0;
    const refused: string[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < UPLOADS) {
          const user = users[next++ % 20] as { token: string };
          const sent = await sendUpload(stack.gatewayUrl, user.token, image);
          if (sent.status !== 202) refused.push(`${sent.status} ${sent.error}`);
        }
      }),
    );
    await waitForJobs(stack.prefix);
    const window = cpu.stop();
    sampling = false;
    await sampler;
    for (const [query, seen] of [...sampled].sort((a, b) => b[1] - a[1]).slice(0, 8)) log(`  running ${seen}×: ${query}`);
    const [commandsAfter, pgAfter] = [await mongoCommands(stack), await pgCounters(database)];
    const cpuPerUpload = Object.fromEntries(Object.entries(window.cpuMs).map(([key, ms]) => [key, ms === null ? null : round(ms / UPLOADS, 3)]));
    const sum = (keys: string[]) =>
      round(
        keys.reduce((total, key) => total + (cpuPerUpload[key] ?? 0), 0),
        2,
      );
    return {
      dialect,
      database: seeded ? `${seed?.documents} Assets stored` : "empty",
      firstPageMs: latency,
      uploads: UPLOADS,
      refused: refused.length,
      cpuMsPerUpload: cpuPerUpload,
      cpuMsPerUploadDataPath: sum(["gateway", "ingest", "ferretdb", "postgres"]),
      cpuMsPerUploadAll: sum(Object.keys(cpuPerUpload)),
      mongoCommandsPerUpload: minus(commandsAfter, commandsBefore, UPLOADS),
      postgresPerUpload: minus(pgAfter, pgBefore, UPLOADS),
    };
  } finally {
    await stack.stop();
    await ai.stop();
  }
}

const database = await startDatabase();
const results: Awaited<ReturnType<typeof scenario>>[] = [];
try {
  const image = await benchImage();
  for (const dialect of DIALECTS) {
    for (const seeded of STATES.map((state) => state === "seeded")) {
      const result = await scenario(database, dialect, seeded, image);
      log(JSON.stringify(result));
      results.push(result);
    }
  }
} finally {
  await database.stop();
}
await Bun.write(join(import.meta.dir, "data-layer.json"), `${JSON.stringify({ measuredAt: new Date().toISOString(), results }, null, 2)}\n`);
const commands = (r: (typeof results)[number]) => (Object.values(r.mongoCommandsPerUpload) as number[]).reduce((a, b) => a + b, 0);
console.log(
  "| adapter | database | GET /api/assets first page p50 / p95 ms | CPU ms per upload: gateway+ingest+FerretDB+PostgreSQL (all processes) | MongoDB commands per upload | PostgreSQL transactions / rows inserted / updated / returned per upload |",
);
console.log("|---|---|---|---|---|---|");
for (const r of results) {
  const pg = r.postgresPerUpload as Record<string, number>;
  console.log(
    `| ${r.dialect} | ${r.database} | ${r.firstPageMs.p50} / ${r.firstPageMs.p95} (${r.firstPageMs.items} of ${r.firstPageMs.total}) | ${r.cpuMsPerUploadDataPath} (${r.cpuMsPerUploadAll}) | ${round(commands(r))}: ${Object.entries(
      r.mongoCommandsPerUpload,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")} | ${pg.transactions ?? 0} / ${pg.rowsInserted ?? 0} / ${pg.rowsUpdated ?? 0} / ${pg.rowsReturned ?? 0} |`,
  );
}
