/**
 * `bun run chaos`: uploads at a steady rate for a few minutes against a real
 * stack (two ai-workers, two notifiers, ingest, gateway, a private Redis)
 * while, at moments drawn from a seed, it SIGKILLs an ai-worker, a notifier
 * or ingest (each restarted), restarts Redis and drops sockets at the
 * proxies; then checks that nothing was lost and prints the faults injected
 * against the outcomes. Exits 1 when a check fails. The library is
 * test/chaos/; test/e2e/chaos.test.ts runs a short version in `bun run test`.
 * Options: `bun run chaos --help`.
 */
import { parseArgs } from "node:util";
import { CHAOS_DEFAULTS, runChaos } from "../test/chaos/run.ts";
import { chaosTable } from "../test/chaos/table.ts";
import { stopSharedServers } from "../test/helpers/shared-servers.ts";

const USAGE = `bun run chaos [options]
  --duration ${CHAOS_DEFAULTS.durationS}        seconds of uploads and faults
  --rate ${CHAOS_DEFAULTS.rate}              uploads per second (open loop)
  --seed N              the fault schedule's seed (default: random, printed)
  --users ${CHAOS_DEFAULTS.users}             users, each with a socket behind each notifier's proxy
  --retry-for ${CHAOS_DEFAULTS.retryForS}         seconds an upload is retried (same Idempotency-Key) before it counts as refused
  --quiet-within ${CHAOS_DEFAULTS.quiescenceTimeoutS}     seconds at most to wait for the pipeline to go quiet after the load
  --json FILE           also write the full report as JSON
  --logs                show the services' logs`;

const { values: args } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    help: { type: "boolean", default: false },
    duration: { type: "string" },
    rate: { type: "string" },
    seed: { type: "string" },
    users: { type: "string" },
    "retry-for": { type: "string" },
    "quiet-within": { type: "string" },
    json: { type: "string" },
    logs: { type: "boolean", default: false },
  },
});

if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    console.error(`--${name} must be a positive number, got ${JSON.stringify(value)}\n\n${USAGE}`);
    process.exit(2);
  }
  return parsed;
}

const options = {
  durationS: positive("duration", args.duration, CHAOS_DEFAULTS.durationS),
  rate: positive("rate", args.rate, CHAOS_DEFAULTS.rate),
  seed: Math.floor(positive("seed", args.seed, 1 + Math.floor(Math.random() * 1_000_000))),
  users: Math.floor(positive("users", args.users, CHAOS_DEFAULTS.users)),
  retryForS: positive("retry-for", args["retry-for"], CHAOS_DEFAULTS.retryForS),
  quiescenceTimeoutS: positive("quiet-within", args["quiet-within"], CHAOS_DEFAULTS.quiescenceTimeoutS),
  logs: args.logs,
  progress: (line: string) => console.log(line),
};

console.log(`chaos: seed ${options.seed}, ${options.durationS} s at ${options.rate} uploads/s, ${options.users} users (repeat with --seed ${options.seed})`);
let passed = false;
try {
  const report = await runChaos(options);
  console.log(`\n${chaosTable(report)}`);
  if (args.json) await Bun.write(args.json, JSON.stringify(report, null, 2));
  passed = report.passed;
} catch (error) {
  console.error(`chaos run could not complete: ${(error as Error).stack ?? error}`);
} finally {
  // The embedded database (and a Redis, if none answered at REDIS_URL) that the stack started on first use.
  await stopSharedServers();
}
process.exit(passed ? 0 : 1);
