/**
 * `bun run migrate` on a database from before this change, on the embedded
 * server: `bun bench/migrate.ts [--seed 100000] [--seed-users 100] [--interrupt-after-s 10]`.
 * Loads `--seed` Assets as ingest stored them before list buckets (no bucket,
 * no counter), then runs the command as a user would (MONGO_URL set): stopped
 * after `--interrupt-after-s` (SIGTERM), run again (it resumes), run a third
 * time (nothing to do), then `--to mongodb` and `--to ferretdb-v1` (the move
 * to the other dialect's layout and back). Prints each run's output and time.
 */
import { parseArgs } from "node:util";
import { ROOT } from "../scripts/lib/processes.ts";
import { makeUsers } from "./lib/clients.ts";
import { startDatabase } from "./lib/database.ts";
import { seedAssets } from "./lib/seed.ts";

const { values } = parseArgs({
  options: {
    seed: { type: "string", default: "100000" },
    "seed-users": { type: "string", default: "100" },
    "interrupt-after-s": { type: "string", default: "10" },
  },
});
const seedUsers = Number(values["seed-users"]);

async function migrate(mongoUrl: string, args: string[], stopAfterMs?: number): Promise<void> {
  console.log(`\n$ MONGO_URL=<embedded>/before_buckets bun run migrate ${args.join(" ")}${stopAfterMs ? `   # stopped after ${stopAfterMs / 1000} s` : ""}`);
  const started = performance.now();
  const proc = Bun.spawn(["bun", "run", "migrate", ...args], {
    cwd: ROOT,
    env: { ...process.env, MONGO_URL: mongoUrl, MONGO_DIALECT: "auto" },
    stdout: "inherit",
    stderr: "inherit",
  });
  const timer = stopAfterMs ? setTimeout(() => proc.kill("SIGTERM"), stopAfterMs) : undefined;
  const code = await proc.exited;
  clearTimeout(timer);
  console.log(`(exit ${code}, ${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

const database = await startDatabase();
try {
  const mongoUrl = database.url("before_buckets");
  const users = await makeUsers(seedUsers, "bench-migrate-secret-0123456789");
  // The mongodb layout is the Asset alone: exactly what ingest stored before list buckets.
  const seed = await seedAssets({ mongoUrl, userIds: users.map((u) => u.id), perUser: Math.ceil(Number(values.seed) / seedUsers), dialect: "mongodb" });
  console.log(`seeded ${seed.documents} Assets of ${seed.users} users without list buckets or counters in ${seed.insertS} s`);
  await migrate(mongoUrl, [], Number(values["interrupt-after-s"]) * 1000);
  await migrate(mongoUrl, []);
  await migrate(mongoUrl, []);
  await migrate(mongoUrl, ["--to", "mongodb"]);
  await migrate(mongoUrl, ["--to", "ferretdb-v1"]);
} finally {
  await database.stop();
}
