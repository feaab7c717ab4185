/**
 * `bun run cli` as a user runs it: a subprocess against a real stack, with
 * JWT_SECRET set to the stack's secret. Checks exit codes, output, and that
 * errors are one clear line with no stack trace.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@pipeline/client";
import { DEMO_USER_ID } from "@pipeline/runtime/auth";
import { verify } from "hono/jwt";
import { productPhoto } from "../helpers/images.ts";
import { eventually } from "../helpers/sockets.ts";
import { Stack, TEST_JWT_SECRET } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";
import { type OpenAiStandIn, startOpenAiStandIn } from "../standins/openai.ts";

const CLI = join(import.meta.dir, "../../scripts/cli.ts");
let stack: Stack;
let ai: OpenAiStandIn;
let dir: string;
let photoPath: string;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  ai = startOpenAiStandIn({ apiKey: "test-key" });
  stack = await Stack.start({ env: { ANALYZER: "openai", AI_BASE_URL: ai.url, AI_API_KEY: "test-key", AI_MODEL: "stand-in-vision" } });
  stack.onStop(ai);
  dir = mkdtempSync(join(tmpdir(), "pipeline-cli-"));
  photoPath = join(dir, "shoe.png");
  await Bun.write(photoPath, await productPhoto({ format: "png" }));
  await Bun.write(join(dir, "notes.txt"), "not an image at all");
  const { TOKEN: _token, ...inherited } = process.env;
  env = { ...inherited, JWT_SECRET: TEST_JWT_SECRET, API_URL: stack.gatewayUrl, NOTIFIER_URL: stack.get("notifier").url, NO_COLOR: "1" };
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[], extraEnv: Record<string, string | undefined> = {}) {
  const proc = Bun.spawn(["bun", CLI, ...args], { env: { ...env, ...extraEnv }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, code };
}

/** Hands each chunk of a stream to `onText` as it arrives. */
async function drain(stream: ReadableStream<Uint8Array>, onText: (text: string) => void) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) onText(decoder.decode(chunk.value, { stream: true }));
}

const NO_STACK_TRACE = /^\s+at\s/m;

describe("cli token", () => {
  test("mints an HS256 token that verifies with the secret: sub, role admin, exp from --ttl", async () => {
    const userId = newUserId();
    const { stdout, code } = await cli(["token", userId, "--admin", "--ttl", "2h"]);
    expect(code).toBe(0);
    const payload = await verify(stdout.trim(), TEST_JWT_SECRET, "HS256");
    expect(payload.sub).toBe(userId);
    expect(payload.role).toBe("admin");
    expect(Math.abs((payload.exp as number) - (Math.floor(Date.now() / 1000) + 7200))).toBeLessThan(30);
  });

  test("a clear error without JWT_SECRET, or for a user id that is not an ObjectId", async () => {
    const noSecret = await cli(["token", newUserId()], { JWT_SECRET: undefined });
    expect(noSecret.code).not.toBe(0);
    expect(noSecret.stderr).toContain("JWT_SECRET is not set");
    const badId = await cli(["token", "alice"]);
    expect(badId.code).not.toBe(0);
    expect(badId.stderr).toContain("24-hex ObjectId");
    expect(badId.stderr).not.toMatch(NO_STACK_TRACE);
  });
});

describe("cli analyze", () => {
  test("uploads an image, shows its progress, prints the result, exits 0", async () => {
    const { stdout, stderr, code } = await cli(["analyze", photoPath, "--category", "sneaker"]);
    expect(code).toBe(0);
    expect(stderr).toContain("shoe.png: uploading");
    expect(stderr).toContain("shoe.png: processing");
    expect(stdout).toContain("shoe.png: active");
    expect(stdout).toContain("brand:    Nike (0.93)");
    expect(stdout).toContain("model:    Air Jordan 1 High OG (0.81)");
    expect(stdout).toContain("colorway: -");
  }, 60_000);

  test("--json prints the results as JSON", async () => {
    const { stdout, code } = await cli(["analyze", photoPath, "--category", "sneaker", "--json"]);
    expect(code).toBe(0);
    const [result] = JSON.parse(stdout);
    expect(result).toMatchObject({ file: photoPath, status: "active", asset: { status: "active", userId: DEMO_USER_ID } });
    expect(result.aiMetadata.brand).toEqual({ value: "Nike", confidence: 0.93 });
  }, 60_000);

  test("a text file: the 415 message, non-zero, no stack trace", async () => {
    const { stdout, stderr, code } = await cli(["analyze", join(dir, "notes.txt"), "--category", "sneaker"]);
    expect(code).not.toBe(0);
    expect(stdout + stderr).toContain("image must be a JPEG, PNG or WebP file");
    expect(stdout + stderr).toContain("415");
    expect(stdout + stderr).not.toMatch(NO_STACK_TRACE);
  }, 60_000);

  test("a missing file, a bad token and an unreachable gateway are clear errors, non-zero", async () => {
    const missing = await cli(["analyze", join(dir, "nope.png"), "--category", "sneaker"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("file not found");

    const badToken = await cli(["analyze", photoPath, "--category", "sneaker", "--token", "not-a-jwt"]);
    expect(badToken.code).not.toBe(0);
    expect(badToken.stderr).toContain("unauthorized (401)");
    expect(badToken.stderr).not.toMatch(NO_STACK_TRACE);

    const unreachable = await cli(["analyze", photoPath, "--category", "sneaker", "--url", "http://127.0.0.1:1"]);
    expect(unreachable.code).not.toBe(0);
    expect(unreachable.stderr).toContain("cannot reach the gateway at http://127.0.0.1:1");
    expect(unreachable.stderr).not.toMatch(NO_STACK_TRACE);

    const noCategory = await cli(["analyze", photoPath]);
    expect(noCategory.code).not.toBe(0);
    expect(noCategory.stderr).toContain("--category is required");
  }, 60_000);
});

describe("cli list, retry, watch, --help", () => {
  test("list shows the demo user's assets; retry of an active one is the 409 message", async () => {
    const listed = await cli(["list", "--status", "active"]);
    expect(listed.code).toBe(0);
    const firstId = listed.stdout.trim().split("\n")[0]?.split(/\s+/)[0] as string;
    expect(firstId).toMatch(/^[0-9a-f]{24}$/);
    expect(listed.stdout).toContain("Nike (0.93)");

    const retried = await cli(["retry", firstId]);
    expect(retried.code).not.toBe(0);
    expect(retried.stderr).toContain("409 conflict");
  });

  test("watch streams the user's events until interrupted", async () => {
    const userId = newUserId();
    const token = await tokenFor(userId);
    const proc = Bun.spawn(["bun", CLI, "watch", "--token", token], { env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    let stdout = "";
    let stderr = "";
    void drain(proc.stdout, (text) => {
      stdout += text;
    });
    void drain(proc.stderr, (text) => {
      stderr += text;
    });
    try {
      await eventually(() => stderr.includes("connected to"), 15_000, "watch to connect");
      const client = createClient({ baseUrl: stack.gatewayUrl, token });
      const { assetId } = await client.upload(await Bun.file(photoPath).bytes(), { category: "sneaker" });
      await eventually(() => stdout.includes(assetId), 30_000, "the event printed");
      expect(stdout).toContain(`${assetId}  active  Nike (0.93)`);
    } finally {
      proc.kill("SIGINT");
    }
    expect(await proc.exited).toBe(0);
  }, 60_000);

  test("--help works for the CLI and every command", async () => {
    const top = await cli(["--help"]);
    expect(top.code).toBe(0);
    for (const command of ["token", "analyze", "list", "watch", "retry"]) expect(top.stdout).toContain(command);
    for (const command of ["token", "analyze", "list", "watch", "retry"]) {
      const help = await cli([command, "--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toStartWith(`Usage: bun run cli ${command}`);
    }
    const unknown = await cli(["frobnicate"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  }, 60_000);
});
