/**
 * The MongoDB-wire server the benchmark measures, started in ONE place: the
 * services, the seeding and the database ceiling all get their URL from here,
 * and the CPU/RSS readings get its processes from here. To benchmark another
 * embedded database (say FerretDB's PostgreSQL handler, whose backing store
 * is a set of postgres processes), change only `startDatabase`: return its
 * URL and, in `processes`, FerretDB's pid and the store's (for PostgreSQL,
 * `processTree(postmasterPid)` from proc-stats.ts: the postmaster and its
 * backends).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startFerretDb, stopProcess } from "../../scripts/lib/processes.ts";
import type { Watched } from "./proc-stats.ts";

export interface BenchDatabase {
  /** What it is, for the report. */
  label: string;
  /** The mongodb:// URL of database `name` on this server. */
  url(name: string): string;
  /** Its processes: the wire server, and its backing store if that runs apart (read at each snapshot). */
  processes: Watched[];
  stop(): Promise<void>;
}

/** Today: FerretDB v1.24.2 with the SQLite handler (the store is in-process), its data in a temporary folder. */
export async function startDatabase(): Promise<BenchDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), "bench-ferretdb-"));
  const port = await freePort();
  const ferret = await startFerretDb({ port, dataDir, quiet: true });
  return {
    label: "FerretDB v1.24.2, SQLite handler",
    url: (name) => `mongodb://127.0.0.1:${port}/${name}`,
    processes: [{ name: "ferretdb", pids: () => [ferret.pid] }],
    async stop() {
      await stopProcess(ferret, 5000);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
