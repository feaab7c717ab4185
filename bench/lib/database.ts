/**
 * The MongoDB-wire server the benchmark measures, started in ONE place: the
 * services, the seeding and the database ceiling all get their URL from here,
 * and the CPU/RSS readings get its processes from here. It is the embedded
 * database `bun run dev` and the tests start: FerretDB v1.24.2 with its
 * PostgreSQL handler on a private PostgreSQL cluster (scripts/lib/embedded-db.ts).
 * The dialect measured is the services' choice for it: MONGO_DIALECT, or
 * `auto` (ferretdb-v1 there); `MONGO_DIALECT=mongodb` measures the mongodb
 * adapter on the same server.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mongoConfigSchema } from "@pipeline/runtime/config";
import { type MongoDialect, resolveDialect } from "@pipeline/runtime/mongo";
import { MongoClient } from "mongodb";
import { startEmbeddedDatabase } from "../../scripts/lib/embedded-db.ts";
import { freePort } from "../../scripts/lib/processes.ts";
import { processTree, type Watched } from "./proc-stats.ts";

export interface BenchDatabase {
  /** What it is, for the report. */
  label: string;
  /** The store adapters' dialect the services and the seed use here. */
  dialect: MongoDialect;
  /** PostgreSQL's Unix socket folder, for its statistics (pg_stat_database). */
  pgSocketDir: string;
  /** The mongodb:// URL of database `name` on this server. */
  url(name: string): string;
  /** Its processes: the wire server, and its backing store if that runs apart (read at each snapshot). */
  processes: Watched[];
  stop(): Promise<void>;
}

export async function startDatabase(): Promise<BenchDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), "bench-db-"));
  // Run as root, PostgreSQL runs as an unprivileged user, who must be able to enter the folder.
  chmodSync(dataDir, 0o755);
  const database = await startEmbeddedDatabase({ port: await freePort(), dataDir, quiet: true });
  const client = await new MongoClient(database.url).connect();
  const buildInfo = await client.db("admin").command({ buildInfo: 1 });
  await client.close();
  const dialect = resolveDialect(mongoConfigSchema.shape.MONGO_DIALECT.parse(process.env.MONGO_DIALECT || undefined), buildInfo);
  return {
    label: `FerretDB v1.24.2, PostgreSQL handler on a private PostgreSQL; store adapters: ${dialect}`,
    dialect,
    pgSocketDir: database.socketDir,
    url: (name) => `${database.url}${name}`,
    processes: [
      { name: "ferretdb", pids: () => [database.pids.ferretdb] },
      { name: "postgres", pids: () => processTree(database.pids.postgres) },
    ],
    async stop() {
      await database.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
