/**
 * The embedded database of `bun run dev` and the tests: FerretDB v1.24.2 with
 * its PostgreSQL handler, backed by a private PostgreSQL cluster that lives in
 * `<dataDir>/postgres` and listens only on a Unix socket in that folder (no TCP
 * port to collide on). The first start builds FerretDB if needed and runs
 * initdb (a few seconds), printing what it does; later starts reuse both.
 *
 * FerretDB v1 pushes top-level equality filters down as
 * `_jsonb->'field' @> value`, which the btree indexes it creates for Mongo
 * indexes cannot serve: every query would scan the table. So the cluster has an
 * event trigger that gives each field of those indexes a GIN "twin", and
 * plan_cache_mode=force_custom_plan lets the planner match the field name that
 * FerretDB sends as a bound parameter. (Sorts are never pushed down: a page
 * sorted in FerretDB costs every matching document; see the Asset list query.)
 *
 * PostgreSQL refuses to run as root: as root (CI) the cluster runs as the
 * unprivileged user EMBEDDED_PG_USER (default `postgres`, created by Debian's
 * PostgreSQL packages) through setpriv. When that user cannot reach
 * `dataDir` (a checkout under /root, or in a private temporary folder), the
 * cluster lives in `<system temp>/pipeline-db-<hash of dataDir>/postgres`
 * instead, owned by that user, and the first line printed says so. Binaries come from PG_BIN, `pg_config --bindir`, `initdb` on PATH,
 * Debian's /usr/lib/postgresql/<newest>/bin or Homebrew's (keg-only)
 * postgresql@<newest>. A missing program is a MissingPrerequisite naming its
 * install command.
 */

import { closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { MissingPrerequisite } from "./prerequisites.ts";
import { ensureFerretDb, FERRETDB_BIN, shown, stopProcess, waitForTcp } from "./processes.ts";

export interface EmbeddedDatabase {
  /** MongoDB connection string of FerretDB (add the database name). */
  url: string;
  /** FerretDB's process and PostgreSQL's postmaster (its backends are the postmaster's children). */
  pids: { ferretdb: number; postgres: number };
  /** Where PostgreSQL keeps its data (`<dataDir>/postgres`, or elsewhere when its user cannot reach dataDir). */
  pgData: string;
  /** The folder of PostgreSQL's Unix socket (for psql). */
  socketDir: string;
  stop(): Promise<void>;
  /** At process exit, when nothing can be awaited: stop both at once. */
  kill(): void;
}

const PG_ROLE = "ferretdb";

/** Every field of every index FerretDB creates on `(_jsonb -> 'field')` gets a GIN index the `@>` filters can use. */
const GIN_TWINS_SQL = String.raw`
CREATE OR REPLACE FUNCTION public.ferretdb_gin_twin() RETURNS event_trigger LANGUAGE plpgsql AS $fn$
DECLARE
  key record;
BEGIN
  FOR key IN
    SELECT i.indrelid::regclass AS tbl, t.relname,
           substring(pg_get_indexdef(i.indexrelid, k, true) FROM '^\(_jsonb -> ''([^'']+)''::text\)$') AS field
      FROM pg_event_trigger_ddl_commands() c
      JOIN pg_index i ON i.indexrelid = c.objid
      JOIN pg_class ic ON ic.oid = i.indexrelid
      JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
      JOIN pg_class t ON t.oid = i.indrelid AND t.relname NOT LIKE '\_ferretdb\_%'
      CROSS JOIN generate_series(1, i.indnkeyatts) k
      WHERE c.command_tag = 'CREATE INDEX'
  LOOP
    CONTINUE WHEN key.field IS NULL;
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((_jsonb -> %L) jsonb_path_ops) WITH (fastupdate = off)',
      left(key.relname, 45) || '_' || left(md5(key.field), 8) || '_gin', key.tbl, key.field);
  END LOOP;
END
$fn$;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_event_trigger WHERE evtname = 'ferretdb_gin_twin') THEN
    CREATE EVENT TRIGGER ferretdb_gin_twin ON ddl_command_end WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION public.ferretdb_gin_twin();
  END IF;
END $$;`;

/** Starts PostgreSQL (data in `<dataDir>/postgres`) and FerretDB on 127.0.0.1:`port`. */
export async function startEmbeddedDatabase(options: {
  dataDir: string;
  port: number;
  /** Hide FerretDB's own output. */
  quiet?: boolean;
  /** Progress lines of a first start (building FerretDB, initdb); default console.log. */
  progress?: (line: string) => void;
  /** Aborting stops a FerretDB build in progress. */
  signal?: AbortSignal;
}): Promise<EmbeddedDatabase> {
  const progress = options.progress ?? ((line: string) => console.log(line));
  // Checked before the (long) FerretDB build, so a missing program is reported at once.
  const bin = postgresBinDir();
  // As root, run PostgreSQL's programs as an unprivileged user.
  const pgUser = process.getuid?.() === 0 ? (process.env.EMBEDDED_PG_USER ?? "postgres") : undefined;
  if (pgUser && !Bun.which("setpriv")) throw new MissingPrerequisite("setpriv");
  if (pgUser && tryRun(["id", "-u", pgUser]) === undefined) {
    throw new Error(
      `running as root, PostgreSQL runs as the user ${pgUser}, which does not exist: install PostgreSQL's package (it creates it), or set EMBEDDED_PG_USER`,
    );
  }
  await ensureFerretDb({ progress, signal: options.signal });
  const dataDir = resolve(options.dataDir);
  const asPgUser = pgUser ? ["setpriv", `--reuid=${pgUser}`, `--regid=${pgUser}`, "--init-groups"] : [];
  const giveToPgUser = (dir: string) => pgUser && run(["chown", `${pgUser}:`, dir]);

  mkdirSync(dataDir, { recursive: true });
  const pgData = postgresDataDir(dataDir, (dir) => !pgUser || tryRun([...asPgUser, "test", "-x", dir]) !== undefined);
  if (pgData !== join(dataDir, "postgres")) {
    progress(`user ${pgUser} cannot enter ${shown(dataDir)}: PostgreSQL's data is in ${pgData}`);
    mkdirSync(dirname(pgData), { recursive: true, mode: 0o700 });
    refuseForeignFolder(dirname(pgData), pgUser as string);
    giveToPgUser(dirname(pgData));
  }
  if (!existsSync(pgData)) mkdirSync(pgData, { mode: 0o700 });
  giveToPgUser(pgData);
  if (pgUser && tryRun([...asPgUser, "test", "-w", pgData]) === undefined) {
    throw new Error(`user ${pgUser} cannot write ${pgData}: move the checkout where it can, or set EMBEDDED_PG_USER or MONGO_URL`);
  }
  if (!existsSync(join(pgData, "PG_VERSION"))) {
    progress(`initialising the database in ${shown(dataDir)}…`);
    run([...asPgUser, join(bin, "initdb"), "-D", pgData, `--username=${PG_ROLE}`, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]);
  }

  // A Unix socket path must fit in 107 bytes; fall back to a short private folder.
  let socketDir = pgData;
  let tempSocketDir: string | undefined;
  if (join(pgData, ".s.PGSQL.5432").length > 100) {
    socketDir = tempSocketDir = mkdtempSync(join(tmpdir(), "pg-"));
    giveToPgUser(socketDir);
  }

  const logFile = join(dataDir, "postgres.log");
  const logFd = openSync(logFile, "a");
  const postgres = Bun.spawn(
    [
      ...asPgUser,
      join(bin, "postgres"),
      "-D",
      pgData,
      "-c",
      "listen_addresses=",
      "-c",
      `unix_socket_directories=${socketDir}`,
      "-c",
      "plan_cache_mode=force_custom_plan", // lets `_jsonb->$1 @> $2` match the GIN twins
      "-c",
      "jit=off",
      "-c",
      "synchronous_commit=off", // a dev/test database: a crash may lose the last commits, never corrupts
      "-c",
      "max_wal_size=256MB", // keeps the data folder small (the default lets pg_wal grow to 1 GB)
    ],
    { stdout: "ignore", stderr: logFd },
  );
  closeSync(logFd);
  const stopPostgres = async () => {
    await stopProcess(postgres);
    if (tempSocketDir) rmSync(tempSocketDir, { recursive: true, force: true });
  };

  let ferret: Subprocess | undefined;
  try {
    await waitForPostgres(bin, pgData, socketDir, postgres, logFile);
    run([join(bin, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", socketDir, "-U", PG_ROLE, "-d", "postgres", "-c", GIN_TWINS_SQL]);

    const pgUrl = `postgres://${PG_ROLE}@/postgres?host=${encodeURIComponent(socketDir)}`;
    ferret = Bun.spawn(
      [
        FERRETDB_BIN,
        "--handler=postgresql",
        `--postgresql-url=${pgUrl}`,
        `--listen-addr=127.0.0.1:${options.port}`,
        "--telemetry=disable",
        `--state-dir=${dataDir}`,
        "--debug-addr=-",
        "--log-level=error",
      ],
      { stdout: options.quiet ? "ignore" : "inherit", stderr: options.quiet ? "ignore" : "inherit" },
    );
    await waitForTcp(options.port, 20_000, ferret);
  } catch (error) {
    if (ferret) await stopProcess(ferret);
    await stopPostgres();
    throw error;
  }

  const started = ferret;
  return {
    url: `mongodb://127.0.0.1:${options.port}/`,
    pids: { ferretdb: started.pid, postgres: postgres.pid },
    pgData,
    socketDir,
    kill() {
      started.kill("SIGKILL");
      postgres.kill("SIGQUIT"); // PostgreSQL's immediate shutdown
    },
    async stop() {
      if (ferret) await stopProcess(ferret); // FerretDB first, so PostgreSQL's smart shutdown has no clients to wait for
      await stopPostgres();
    },
  };
}

/**
 * Where PostgreSQL keeps the data of `dataDir`: `<dataDir>/postgres`, unless its user cannot enter
 * every folder down to `dataDir` (`canEnter`); then a folder of its own in the system's temporary
 * folder, named by a hash of `dataDir` so each checkout keeps its own data across runs.
 */
export function postgresDataDir(dataDir: string, canEnter: (dir: string) => boolean, temp = process.env.EMBEDDED_PG_DATA_ROOT ?? "/var/tmp"): string {
  const inCheckout = join(dataDir, "postgres");
  if (canEnter(dataDir)) return inCheckout;
  const hash = new Bun.CryptoHasher("sha256").update(dataDir).digest("hex").slice(0, 12);
  return join(temp, `pipeline-db-${hash}`, "postgres");
}

/** A predictable folder in a shared temporary folder must be ours (root's) or the PostgreSQL user's, and not a link. */
function refuseForeignFolder(dir: string, pgUser: string): void {
  const stat = lstatSync(dir);
  const pgUid = Number(tryRun(["id", "-u", pgUser]));
  if (stat.isSymbolicLink() || !stat.isDirectory() || (stat.uid !== 0 && stat.uid !== pgUid)) {
    throw new Error(`${dir} is not a folder of root or ${pgUser}: remove it, or set EMBEDDED_PG_DATA_ROOT`);
  }
}

export function postgresBinDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const fromPgConfig = Bun.which("pg_config") && tryRun(["pg_config", "--bindir"]);
  if (fromPgConfig && existsSync(join(fromPgConfig, "initdb"))) return fromPgConfig;
  const initdb = Bun.which("initdb");
  if (initdb) return dirname(realpathSync(initdb));
  const debian = "/usr/lib/postgresql";
  const newest = existsSync(debian) ? readdirSync(debian).sort((a, b) => Number(b) - Number(a))[0] : undefined;
  if (newest && existsSync(join(debian, newest, "bin", "initdb"))) return join(debian, newest, "bin");
  for (const brew of ["/opt/homebrew/opt", "/usr/local/opt"]) {
    const kegs = existsSync(brew) ? readdirSync(brew).filter((name) => /^postgresql@\d+$/.test(name)) : [];
    const keg = kegs.sort((a, b) => Number(b.split("@")[1]) - Number(a.split("@")[1]))[0];
    if (keg && existsSync(join(brew, keg, "bin", "initdb"))) return join(brew, keg, "bin");
  }
  throw new MissingPrerequisite("postgresql", "or set PG_BIN to their folder, or MONGO_URL to use another MongoDB");
}

async function waitForPostgres(bin: string, pgData: string, socketDir: string, postgres: Subprocess, logFile: string): Promise<void> {
  const pidFile = join(pgData, "postmaster.pid");
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (postgres.exitCode !== null) {
      const tail = readFileSync(logFile, "utf8").trim().split("\n").slice(-2).join("\n");
      throw new Error(`PostgreSQL exited with ${postgres.exitCode} (log: ${logFile}):\n${tail}`);
    }
    // Ready once our process owns the data folder (not another server on the same socket) and accepts connections.
    const owner = existsSync(pidFile) ? readFileSync(pidFile, "utf8").split("\n")[0] : "";
    if (owner === String(postgres.pid) && tryRun([join(bin, "pg_isready"), "-q", "-h", socketDir, "-U", PG_ROLE, "-d", "postgres"]) !== undefined) return;
    await Bun.sleep(50);
  }
  throw new Error(`PostgreSQL did not accept connections within 30 s (log: ${logFile})`);
}

/** Runs a short command; its trimmed stdout, or undefined when it failed. */
function tryRun(cmd: string[]): string | undefined {
  const result = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return result.success ? result.stdout.toString().trim() : undefined;
}

function run(cmd: string[]): string {
  const result = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (!result.success) throw new Error(`${cmd.join(" ")} failed:\n${result.stderr.toString()}${result.stdout.toString()}`);
  return result.stdout.toString().trim();
}
