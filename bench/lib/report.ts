/**
 * The results: their shape (bench/results.json), the ratios derived from
 * them, the markdown table (printed, and written into docs/performance.md between
 * `<!-- bench:start -->` and `<!-- bench:end -->`, nothing else touched).
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { CeilingResult } from "./ceilings.ts";
import type { MachineInfo } from "./machine.ts";
import type { RedisMemory } from "./redis-memory.ts";
import type { ListLatency, OpenLoopResult, SaturationResult } from "./scenarios.ts";
import type { SeedResult } from "./seed.ts";

export interface PipelineScenario {
  /** Assets in the database before the run. */
  storedAssets: number;
  startupS: number;
  warmUp: { sent: number; arrived: number };
  /** A user's first page, before the load. */
  list: ListLatency;
  run: OpenLoopResult;
  /** Redis keys the scenario left, per retained asset. */
  redis: RedisMemory;
  /** Services that exited during the scenario (the run is then invalid). */
  crashed: string[];
}

export interface BenchResults {
  command: string;
  machine: MachineInfo;
  database: string;
  redis: { url: string; pid: number | null };
  settings: {
    ratePerS: number;
    durationS: number;
    users: number;
    image: string;
    ceilingS: number;
    drainS: number;
    workerConcurrency: string;
  };
  ceilings: { bullmq: CeilingResult; database: CeilingResult; upload: CeilingResult };
  pipeline: { empty: PipelineScenario; seeded: (PipelineScenario & { seed: SeedResult }) | null };
  /** Null when skipped (`--scale 0`). */
  scaling: { aiDelayMs: number; one: SaturationResult; two: SaturationResult; ratio: number | null } | null;
  ratios: Ratios;
  totalS: number;
}

export interface Ratios {
  /** Pipeline assets completed per second ÷ bare BullMQ jobs per second (each asset is 2 jobs: the AI job and its outcome). */
  completedVsBullmq: number | null;
  /** Uploads accepted per second ÷ bare Bun.serve uploads per second. */
  acceptedVsBareServe: number | null;
  /** Assets per second the machine could sustain if CPU were the only limit: cores × 1000 / CPU ms per asset (services, database, Redis). */
  cpuBoundAssetsPerS: number | null;
  /** That estimate ÷ bare BullMQ jobs/s. */
  cpuBoundVsBullmq: number | null;
  /** That estimate ÷ bare database asset-equivalents/s (one insert + update + read). */
  cpuBoundVsDatabase: number | null;
  /** Gateway + ingest CPU per upload ÷ the bare Bun.serve's CPU per upload. */
  edgeCpuVsBareServe: number | null;
  /** Database server CPU per asset ÷ its CPU per insert + update + read in the ceiling. */
  databaseCpuVsCeiling: number | null;
}

/** The CPU of the processes that are the pipeline's own cost (not the benchmark's client); null when not measured. */
export function serverCost(cpu: Record<string, number | null>): number | null {
  const values = Object.entries(cpu)
    .filter(([name]) => name !== "bench")
    .map(([, ms]) => ms);
  return values.length && values.every((v) => v !== null) ? Math.round((values as number[]).reduce((a, b) => a + b, 0) * 100) / 100 : null;
}

const ratio = (a: number | null | undefined, b: number | null | undefined, digits = 3) =>
  a === null || a === undefined || !b ? null : Math.round((a / b) * 10 ** digits) / 10 ** digits;

export function deriveRatios(ceilings: BenchResults["ceilings"], empty: PipelineScenario, cores: number): Ratios {
  const run = empty.run;
  const perAsset = serverCost(run.cpuMsPerAsset);
  const cpuBound = perAsset ? Math.round(((cores * 1000) / perAsset) * 10) / 10 : null;
  const dbAssetsPerS = ceilings.database.perS / 3;
  const edge = (run.cpuMsPerAsset.gateway ?? 0) + (run.cpuMsPerAsset.ingest ?? 0);
  // The database's processes are whatever the ceiling watched besides this one.
  const dbNames = Object.keys(ceilings.database.cpuMsPerOp).filter((name) => name !== "bench");
  const sum = (values: (number | null | undefined)[]) => (values.every((v) => typeof v === "number") ? (values as number[]).reduce((a, b) => a + b, 0) : null);
  const dbCeilingPerAsset = sum(dbNames.map((name) => ceilings.database.cpuMsPerOp[name])) ?? 0;
  const dbPipelinePerAsset = sum(dbNames.map((name) => run.cpuMsPerAsset[name]));
  return {
    completedVsBullmq: ratio(run.completedPerS, ceilings.bullmq.perS, 4),
    acceptedVsBareServe: ratio(run.acceptedPerS, ceilings.upload.perS, 4),
    cpuBoundAssetsPerS: cpuBound,
    cpuBoundVsBullmq: ratio(cpuBound, ceilings.bullmq.perS),
    cpuBoundVsDatabase: ratio(cpuBound, dbAssetsPerS),
    edgeCpuVsBareServe: ratio(edge, ceilings.upload.cpuMsPerOp["bun-serve"]),
    databaseCpuVsCeiling: ratio(dbPipelinePerAsset, dbCeilingPerAsset * 3),
  };
}

/**
 * The CPU budget per asset at the load point (issue: 100 uploads/s on two cores): per process, and in all.
 * `database` is every process of the database server (FerretDB and its PostgreSQL backends, or mongod).
 */
export const CPU_TARGETS_MS: Record<string, number> = { "ai-worker": 6, database: 4, ingest: 1.5, redis: 1.5, notifier: 1, gateway: 0.8 };
export const CPU_TARGET_TOTAL_MS = 15;
/** The latency target at the load point, and the Redis budget per retained asset. */
export const P99_TARGET_MS = 250;
export const REDIS_TARGET_BYTES_PER_ASSET = 1024;

/** Each target's figure from a run: the database is the sum of its processes (every name not a service, Redis or the client). */
export function againstTargets(cpu: Record<string, number | null>): { name: string; ms: number | null; target: number }[] {
  const known = new Set([...Object.keys(CPU_TARGETS_MS), "bench"]);
  const database = Object.entries(cpu).filter(([name]) => !known.has(name) && !name.includes("#"));
  const sum = (values: (number | null)[]) => (values.length && values.every((v) => v !== null) ? (values as number[]).reduce((a, b) => a + b, 0) : null);
  // Extra replicas (`ai-worker#2`) count towards their service.
  const of = (name: string) =>
    sum(
      Object.entries(cpu)
        .filter(([n]) => n === name || n.startsWith(`${name}#`))
        .map(([, v]) => v),
    );
  return Object.entries(CPU_TARGETS_MS).map(([name, target]) => ({
    name: name === "database" ? `database (${database.map(([n]) => n).join(" + ")})` : name,
    ms: name === "database" ? sum(database.map(([, v]) => v)) : of(name),
    target,
  }));
}

// ---------------------------------------------------------------------------
// Markdown

const dash = "—";
function num(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return dash;
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
/** Milliseconds with about three significant digits (CPU per operation can be a few microseconds). */
function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return dash;
  const magnitude = Math.abs(value);
  return num(value, magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3);
}
const times = (value: number | null) => (value === null ? dash : value >= 10 ? `${num(value, 0)}×` : `${num(value, 2)}×`);
const pct = (value: number | null) => (value === null ? dash : `${num(value * 100, value < 0.01 ? 2 : 1)} %`);

function cpuCell(cpu: Record<string, number | null>): string {
  return Object.entries(cpu)
    .map(([name, v]) => `${name} ${ms(v)}`)
    .join(", ");
}

function countCell(record: Record<string, number>, prefix = ""): string {
  const entries = Object.entries(record);
  return entries.length ? entries.map(([k, v]) => `${v} ${prefix}${k}`).join(", ") : "0";
}

function latencyCell(run: OpenLoopResult): string {
  const l = run.latencyMs;
  return l.count ? `${ms(l.p50)} / ${ms(l.p95)} / ${ms(l.p99)} / ${ms(l.max)}` : dash;
}

function listCell(list: ListLatency): string {
  if (!list.count) return dash;
  const note = list.cutShort ? ", cut short by the time budget" : "";
  const failed = Object.values(list.errors).reduce((a, b) => a + b, 0);
  const errors = failed ? `, failed: ${countCell(list.errors, "HTTP ")}` : "";
  const page = failed < list.count ? `; ${list.items} items of ${num(list.total, 0)}` : "";
  return `${ms(list.p50)} / ${ms(list.p95)} (n = ${list.count}${note}${errors}${page})`;
}

/** A process's CPU per asset, or its total when no asset completed. */
function cpuPerAssetCell(run: OpenLoopResult, name: string): string {
  const perAsset = run.cpuMsPerAsset[name];
  if (perAsset !== null && perAsset !== undefined) return ms(perAsset);
  const total = run.cpuMsTotal[name];
  return total === null || total === undefined ? dash : `${dash} (${num(total / 1000, 1)} s in all)`;
}

export function markdown(results: BenchResults): string {
  const { machine, settings, ceilings, pipeline, scaling, ratios } = results;
  const empty = pipeline.empty;
  const seeded = pipeline.seeded;
  const columns = seeded ? [empty, seeded] : [empty];
  const headers = ["empty database", ...(seeded ? [`${num(seeded.storedAssets, 0)} Assets stored`] : [])];
  const row = (label: string, cell: (s: PipelineScenario) => string) => `| ${label} | ${columns.map(cell).join(" | ")} |`;
  const processes = [...new Set(columns.flatMap((s) => Object.keys(s.run.cpuMsPerAsset)))];
  const lines: string[] = [];

  lines.push(
    `Measured ${machine.date.slice(0, 10)} with \`${results.command}\` on ${machine.cpuModel}, ${machine.cores} cores, ${num(machine.ramGiB, 1)} GiB RAM, ` +
      `Bun ${machine.bun}, ${machine.os} (1-min load average ${num(machine.loadAverageAtStart, 2)} at the start: other work on the machine makes these figures noisy). ` +
      `Database: ${results.database}; Redis: ${results.redis.url.startsWith("redis") ? "the one at REDIS_URL" : results.redis.url}. Whole run: ${num(results.totalS / 60, 1)} min. Raw figures: \`bench/results.json\`.`,
    "",
    `**Ceilings** (same machine, same servers, none of the pipeline; ${num(settings.ceilingS, 0)} s each after a 1 s warm-up)`,
    "",
    "| ceiling | throughput | CPU ms per operation | setup |",
    "|---|---|---|---|",
    `| bare BullMQ: add + empty processor | ${num(ceilings.bullmq.perS, 0)} jobs/s | ${cpuCell(ceilings.bullmq.cpuMsPerOp)} | ${ceilings.bullmq.setup} |`,
    `| bare database (\`mongodb\` driver): insert + conditional update ({_id, status}) + read by _id | ${num(ceilings.database.perS, 0)} ops/s (${num(ceilings.database.perS / 3, 0)} of each/s) | ${cpuCell(ceilings.database.cpuMsPerOp)} | ${ceilings.database.setup} |`,
    `| bare \`Bun.serve\`: \`await req.formData()\` of the same upload | ${num(ceilings.upload.perS, 0)} uploads/s | ${cpuCell(ceilings.upload.cpuMsPerOp)} | ${ceilings.upload.setup} |`,
    "",
    `**Pipeline at ${num(settings.ratePerS, 0)} uploads/s for ${num(settings.durationS, 0)} s, open loop** (a ${settings.image} through the gateway, ` +
      `${settings.users} users each with a socket; \`ANALYZER=openai\` on an instant local endpoint, local background removal and storage, ` +
      `one replica of each service, WORKER_CONCURRENCY ${settings.workerConcurrency}). After the last answer the run waits for the ` +
      `remaining events up to ${num(settings.drainS, 0)} s, or until none has come for 15 s (stalled). ` +
      `CPU is read from /proc/<pid>/stat from the first upload to the end of that drain and divided by the assets completed.`,
    "",
    `| | ${headers.join(" | ")} |`,
    `|---|${columns.map(() => "---").join("|")}|`,
    row("accepted/s (202)", (s) => num(s.run.acceptedPerS, 1)),
    row("completed/s (events inside the load window)", (s) => num(s.run.completedPerS, 1)),
    row("completed / accepted", (s) => `${s.run.completed} / ${s.run.accepted}`),
    row("latency upload → `asset_processed`, ms p50 / p95 / p99 / max", (s) => latencyCell(s.run)),
    row("lost events / still unfinished at the end", (s) => `${s.run.lostEvents} / ${countCell(s.run.unfinished)}`),
    row(
      "failed outcomes / refused uploads / duplicate or misdelivered events",
      (s) => `${s.run.failedOutcomes} / ${countCell(s.run.refused, "HTTP ")} / ${s.run.duplicates + s.run.misdelivered}`,
    ),
    row("last answer after the schedule's end; then drain", (s) => `${num(s.run.answersLagS, 1)} s; ${num(s.run.drainS, 1)} s (${s.run.drainEnd})`),
    row("load generator lag p99 / max, ms", (s) => `${ms(s.run.generatorLag.p99Ms)} / ${ms(s.run.generatorLag.maxMs)}`),
    ...processes.map((name) =>
      row(`CPU ms per asset: ${name === "bench" ? "bench client (load, sockets, AI stand-in)" : name}`, (s) => cpuPerAssetCell(s.run, name)),
    ),
    row("CPU ms per asset: **services + database + Redis**", (s) => `**${ms(serverCost(s.run.cpuMsPerAsset))}**`),
    row("machine busy during the run (all processes, all cores)", (s) => pct(s.run.machineBusyShare)),
    row("ai-worker stages, mean wall-clock ms", (s) =>
      s.run.stagesMs
        ? Object.entries(s.run.stagesMs)
            .map(([stage, v]) => `${stage} ${ms(v)}`)
            .join(", ")
        : dash,
    ),
    row("`GET /api/assets` first page, ms p50 / p95 (before the load)", (s) => listCell(s.list)),
  );
  if (columns.some((s) => s.crashed.length)) lines.push(row("services that exited during the run", (s) => s.crashed.join(", ") || "none"));
  if (seeded) {
    const seed = seeded.seed;
    lines.push(
      "",
      `Seeding: ${num(seed.documents, 0)} Assets for ${seed.users} users (${num(seed.documents / seed.users, 0)} each, the benchmark's users among them) ` +
        `inserted in ${num(seed.insertS, 1)} s with \`insertMany\` (${num(seed.documents / seed.insertS, 0)} docs/s), the model's ${seed.indexes.length} indexes built in ${num(seed.indexS, 1)} s.`,
    );
  }
  lines.push(
    "",
    "**Against the ceilings** (empty database)",
    "",
    "| ratio | value |",
    "|---|---|",
    `| pipeline completed/s ÷ bare BullMQ jobs/s (each asset is 2 jobs: AI and outcome) | ${pct(ratios.completedVsBullmq)} |`,
    `| pipeline accepted/s ÷ bare Bun.serve uploads/s | ${pct(ratios.acceptedVsBareServe)} |`,
    `| CPU-bound estimate: ${machine.cores} cores × 1000 ÷ CPU ms per asset (services + database + Redis) | ${num(ratios.cpuBoundAssetsPerS, 1)} assets/s |`,
    `| that estimate ÷ bare BullMQ jobs/s | ${pct(ratios.cpuBoundVsBullmq)} |`,
    `| that estimate ÷ bare database inserts+updates+reads/s | ${pct(ratios.cpuBoundVsDatabase)} |`,
    `| gateway + ingest CPU per upload ÷ bare Bun.serve CPU per upload | ${times(ratios.edgeCpuVsBareServe)} |`,
    `| database CPU per asset ÷ its CPU per insert + update + read in the ceiling | ${times(ratios.databaseCpuVsCeiling)} |`,
  );
  lines.push(...targetLines(columns, headers, settings.ratePerS), ...redisLines(columns, headers));
  if (scaling) lines.push(...scalingLines(scaling, settings.workerConcurrency));
  lines.push(
    "",
    "**Memory** (VmRSS, MiB: idle after start, before any upload; end: after the load and drain)",
    "",
    `| process | ${columns.flatMap((_, i) => [`idle (${headers[i]})`, `end (${headers[i]})`]).join(" | ")} |`,
    `|---|${columns.map(() => "---|---").join("|")}|`,
    ...[...new Set(columns.flatMap((s) => Object.keys(s.run.rssMiB.idle)))].map(
      (name) =>
        `| ${name === "bench" ? "bench client" : name} | ${columns.map((s) => `${num(s.run.rssMiB.idle[name], 0)} | ${num(s.run.rssMiB.end[name], 0)}`).join(" | ")} |`,
    ),
  );
  const notes = observations(results);
  if (notes.length) lines.push("", "**What these figures say** (generated from them)", "", ...notes.map((n) => `- ${n}`));
  return lines.join("\n");
}

const verdict = (value: number | null, target: number) => (value === null ? dash : value <= target ? "met" : "**not met**");

function targetLines(columns: PipelineScenario[], headers: string[], ratePerS: number): string[] {
  const rows = columns.map((s) => againstTargets(s.run.cpuMsPerAsset));
  const cells = (value: number | null, target: number) => `${ms(value)} (${verdict(value, target)})`;
  return [
    "",
    `**Against the targets** at ${num(ratePerS, 0)} uploads/s (CPU ms per asset; the database is the sum of its processes)`,
    "",
    `| | target | ${headers.join(" | ")} |`,
    `|---|---|${columns.map(() => "---").join("|")}|`,
    `| every upload accepted and delivered | all | ${columns.map((s) => (s.run.accepted === s.run.offered.uploads && s.run.completed === s.run.accepted ? "yes" : `**no** (${s.run.completed} of ${s.run.offered.uploads})`)).join(" | ")} |`,
    `| p99 upload → event, ms | < ${P99_TARGET_MS} | ${columns.map((s) => `${ms(s.run.latencyMs.p99)} (${verdict(s.run.latencyMs.p99, P99_TARGET_MS)})`).join(" | ")} |`,
    ...Object.keys(CPU_TARGETS_MS).map((_, k) => {
      const first = rows[0]![k]!;
      return `| ${first.name} | ${ms(first.target)} | ${rows.map((r) => cells(r[k]!.ms, r[k]!.target)).join(" | ")} |`;
    }),
    `| **all together** | ${ms(CPU_TARGET_TOTAL_MS)} | ${columns.map((s) => `**${cells(serverCost(s.run.cpuMsPerAsset), CPU_TARGET_TOTAL_MS)}**`).join(" | ")} |`,
  ];
}

function redisLines(columns: PipelineScenario[], headers: string[]): string[] {
  const groups = [...new Set(columns.flatMap((s) => Object.keys(s.redis.groups)))].sort();
  const perAsset = (s: PipelineScenario, name: string) => {
    const g = s.redis.groups[name];
    if (!g) return dash;
    return name.startsWith("capped:") ? `${num(g.bytes / 1024, 0)} KiB in all` : `${num(g.bytes / Math.max(1, s.redis.assets), 0)} B (${g.keys} keys)`;
  };
  return [
    "",
    "**Redis per retained asset** (after the run, `MEMORY USAGE` of each key the stack left, per asset completed; the capped streams are bounded whatever the rate or retention)",
    "",
    `| keys | ${headers.join(" | ")} |`,
    `|---|${columns.map(() => "---").join("|")}|`,
    ...groups.map((name) => `| ${name} | ${columns.map((s) => perAsset(s, name)).join(" | ")} |`),
    `| **per retained asset, right after the run** (target ≤ ${REDIS_TARGET_BYTES_PER_ASSET} B) | ${columns.map((s) => `**${num(s.redis.perAssetBytes, 0)} B** (${verdict(s.redis.perAssetBytes, REDIS_TARGET_BYTES_PER_ASSET)})`).join(" | ")} |`,
    `| per asset over the AI job's retention (keys kept shorter count for their share of it: the capacity formula's figure) | ${columns.map((s) => `${num(s.redis.retainedBytesPerAsset, 0)} B (${verdict(s.redis.retainedBytesPerAsset, REDIS_TARGET_BYTES_PER_ASSET)})`).join(" | ")} |`,
    `| \`used_memory\` growth minus capped streams, per asset (shared Redis: noisy) | ${columns.map((s) => `${num(s.redis.usedMemoryPerAssetBytes, 0)} B`).join(" | ")} |`,
  ];
}

function scalingLines(scaling: NonNullable<BenchResults["scaling"]>, workerConcurrency: string): string[] {
  return [
    "",
    `**Scaling the ai-worker** (AI endpoint answering after ${scaling.aiDelayMs} ms, closed loop with ${scaling.one.clients} clients each waiting for its event, ` +
      `WORKER_CONCURRENCY ${workerConcurrency} per replica, ${num(scaling.one.windowS, 0)} s counted after a warm-up)`,
    "",
    "| ai-worker replicas | completed jobs/s | latency p50 / p95, ms | CPU ms per job (services + database + Redis) | machine busy |",
    "|---|---|---|---|---|",
    ...(
      [
        ["1", scaling.one],
        ["2", scaling.two],
      ] as const
    ).map(
      ([n, r]) =>
        `| ${n} | ${num(r.completedPerS, 2)} | ${ms(r.latencyMs.p50)} / ${ms(r.latencyMs.p95)} | ${ms(serverCost(r.cpuMsPerAsset))} | ${pct(r.machineBusyShare)} |`,
    ),
    `| 2 ÷ 1 | ${times(scaling.ratio)} | | | |`,
  ];
}

/** Plain-language readings of the figures, so the table's headline is not left to guesswork. */
export function observations(results: BenchResults): string[] {
  const notes: string[] = [];
  const { empty, seeded } = results.pipeline;
  const ranked = (cpu: Record<string, number | null>) =>
    Object.entries(cpu)
      .filter((e): e is [string, number] => e[0] !== "bench" && e[1] !== null)
      .sort((a, b) => b[1] - a[1]);
  const top = ranked(empty.run.cpuMsPerAsset);
  const total = serverCost(empty.run.cpuMsPerAsset);
  if (top.length >= 2 && total) {
    const share = (v: number) => `${Math.round((v / total) * 100)} %`;
    notes.push(
      `Empty database: CPU per asset is led by ${top[0]![0]} (${ms(top[0]![1])} ms, ${share(top[0]![1])}) and ${top[1]![0]} (${ms(top[1]![1])} ms, ${share(top[1]![1])}) of ${ms(total)} ms in all.`,
    );
  }
  const run = empty.run;
  if (run.completedPerS < 0.95 * run.acceptedPerS) {
    notes.push(
      `At ${num(results.settings.ratePerS, 0)} uploads/s the pipeline completed ${num(run.completedPerS, 1)}/s during the load: it is saturated on this machine ` +
        `(all cores ${pct(run.machineBusyShare)} busy, others' work included), so the latency is mostly time spent queued; ` +
        `the CPU-bound estimate (${num(results.ratios.cpuBoundAssetsPerS, 1)} assets/s) is what the machine would allow with the pipeline alone.`,
    );
  } else {
    notes.push(`At ${num(results.settings.ratePerS, 0)} uploads/s the pipeline kept up (${num(run.completedPerS, 1)} completed/s during the load).`);
  }
  if (seeded) {
    const s = seeded.run;
    const busiest = Object.entries(s.cpuMsTotal)
      .filter((e): e is [string, number] => e[0] !== "bench" && e[1] !== null)
      .sort((a, b) => b[1] - a[1])[0];
    const where = busiest ? ` ${busiest[0]} used ${num(busiest[1] / 1000, 1)} CPU s of the ${num(s.cpuWindowS, 0)} s window.` : "";
    if (s.completed === 0) {
      notes.push(`With ${num(seeded.storedAssets, 0)} Assets stored, no upload completed within the run (drain ${s.drainEnd}).${where}`);
    } else if (s.completedPerS < 0.5 * run.completedPerS) {
      notes.push(
        `With ${num(seeded.storedAssets, 0)} Assets stored, completions fell to ${num(s.completedPerS, 1)}/s from ${num(run.completedPerS, 1)}/s.${where}`,
      );
    }
  }
  for (const scenario of [empty, ...(seeded ? [seeded] : [])]) {
    const failed = Object.values(scenario.list.errors).reduce((a, b) => a + b, 0);
    if (failed) {
      notes.push(
        `\`GET /api/assets\` with ${num(scenario.storedAssets, 0)} Assets stored: ${failed} of ${scenario.list.count} requests failed ` +
          `(${countCell(scenario.list.errors, "HTTP ")}) after ${ms(scenario.list.p50)} ms (p50).`,
      );
    }
  }
  const { one, two, ratio: scale } = results.scaling ?? { one: null, two: null, ratio: null };
  if (one && two && scale !== null && scale < 1.6 && two.machineBusyShare > 0.9) {
    notes.push(
      `A second ai-worker replica gave ${times(scale)}: the machine's cores were ${pct(two.machineBusyShare)} busy, so CPU, not the 200 ms AI call, limited it (one replica: ${pct(one.machineBusyShare)}).`,
    );
  }
  return notes;
}

const BENCH_MARKERS = { start: "<!-- bench:start -->", end: "<!-- bench:end -->", heading: "Performance" };

/** Rewrites what lies between the markers; adds a section with them (under `heading`) at the end when absent. */
export function updateMarkedSection(path: string, body: string, markers: { start: string; end: string; heading: string } = BENCH_MARKERS): void {
  let text = readFileSync(path, "utf8");
  if (!text.includes(markers.start) || !text.includes(markers.end)) {
    text = `${text.replace(/\s*$/, "")}\n\n## ${markers.heading}\n\n${markers.start}\n${markers.end}\n`;
  }
  const start = text.indexOf(markers.start) + markers.start.length;
  const end = text.indexOf(markers.end, start);
  writeFileSync(path, `${text.slice(0, start)}\n${body}\n${text.slice(end)}`);
}
