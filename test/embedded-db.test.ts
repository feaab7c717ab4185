/**
 * The embedded database's data folder when its user cannot enter the
 * checkout (as root with the checkout in a private folder, as in CI
 * containers and under /root): the choice, and a real start there.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { MongoClient } from "mongodb";
import { postgresDataDir, startEmbeddedDatabase } from "../scripts/lib/embedded-db.ts";
import { freePort } from "../scripts/lib/processes.ts";

describe("postgresDataDir", () => {
  test("in the checkout when the database's user can enter it, else a folder of its own named by the checkout", () => {
    expect(postgresDataDir("/srv/app/.data/db", () => true, "/var/tmp")).toBe("/srv/app/.data/db/postgres");
    const elsewhere = postgresDataDir("/root/app/.data/db", () => false, "/var/tmp");
    expect(elsewhere).toMatch(/^\/var\/tmp\/pipeline-db-[0-9a-f]{12}\/postgres$/);
    expect(postgresDataDir("/root/app/.data/db", () => false, "/var/tmp")).toBe(elsewhere);
    expect(postgresDataDir("/root/other/.data/db", () => false, "/var/tmp")).not.toBe(elsewhere);
  });
});

const asRootWithPostgresUser = process.getuid?.() === 0 && Bun.spawnSync(["id", "-u", process.env.EMBEDDED_PG_USER ?? "postgres"]).success;

test.if(asRootWithPostgresUser)(
  "as root, in a folder other users cannot enter, the embedded database starts and says where its data is",
  async () => {
    const privateDir = mkdtempSync(join(tmpdir(), "private-checkout-"));
    expect(statSync(privateDir).mode & 0o777).toBe(0o700);
    const lines: string[] = [];
    const database = await startEmbeddedDatabase({
      port: await freePort(),
      dataDir: join(privateDir, ".data", "db"),
      quiet: true,
      progress: (line) => lines.push(line),
    });
    try {
      expect(database.pgData.startsWith(privateDir)).toBe(false);
      expect(lines.join("\n")).toContain(`PostgreSQL's data is in ${database.pgData}`);
      const client = await new MongoClient(`${database.url}probe`).connect();
      await client.db().collection("probe").insertOne({ ok: 1 });
      expect(await client.db().collection("probe").countDocuments()).toBe(1);
      await client.close();
    } finally {
      await database.stop();
      rmSync(dirname(database.pgData), { recursive: true, force: true });
      rmSync(privateDir, { recursive: true, force: true });
    }
    expect(existsSync(database.pgData)).toBe(false);
  },
  120_000,
);
