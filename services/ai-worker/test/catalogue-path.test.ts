import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "catalogue-path-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the ai-worker with a malformed CATALOGUE_PATH", () => {
  test("stops at start, naming the file and the line", async () => {
    const path = join(dir, "broken.json");
    writeFileSync(path, '[\n  {"category": "camera", "brand": "Canon", "model": "EOS R5"},\n  {"category": "camera", "model": "EOS R6"}\n]\n');
    const proc = Bun.spawn(["bun", resolve(import.meta.dir, "../src/index.ts")], {
      env: { ...process.env, CATALOGUE_PATH: path, ANALYZER: "local", LOG_LEVEL: "info", PORT: "0" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const exitCode = await proc.exited;
    const output = (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text());
    expect(exitCode).toBe(1);
    expect(output).toContain(`CATALOGUE_PATH: ${path} line 3: \\"brand\\" is required`);
  }, 30_000);
});
