/**
 * The short chaos run (`bun run chaos` is the long one): 45 s of uploads at
 * 5/s while a fixed seed's schedule SIGKILLs ai-workers, notifiers and ingest
 * (each restarted), restarts Redis and drops every socket at the proxies.
 * Afterwards every accepted upload is final, nothing is stuck, and every
 * socket of each owner knows each outcome (live or caught up) and receives
 * none twice; the table of
 * faults against outcomes is printed.
 */
import { expect, test } from "bun:test";
import { runChaos } from "../chaos/run.ts";
import { FAULT_KINDS } from "../chaos/schedule.ts";
import { chaosTable } from "../chaos/table.ts";

test("chaos: faults at random moments during a steady load lose nothing", async () => {
  const report = await runChaos({
    durationS: 45,
    rate: 5,
    seed: 20251129,
    users: 3,
    retryForS: 30,
    // Generous: an outcome in the hands of a killed notifier waits for BullMQ's stall check (30-60 s).
    quiescenceTimeoutS: 90,
    progress: (line) => console.log(`chaos: ${line}`),
  });
  console.log(chaosTable(report));
  for (const kind of FAULT_KINDS) expect(report.faults.some((fault) => fault.kind === kind)).toBe(true);
  expect(report.checks.filter((check) => !check.ok)).toEqual([]);
  expect(report.passed).toBe(true);
}, 240_000);
