/** Every service validates its configuration at start and stops with a message naming the variable. */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ROOT, type ServiceName } from "../../scripts/lib/processes.ts";
import { TEST_JWT_SECRET } from "../helpers/stack.ts";

async function startWith(name: ServiceName, env: Record<string, string | undefined>): Promise<{ code: number; output: string }> {
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    JWT_SECRET: TEST_JWT_SECRET,
    MONGO_URL: "mongodb://127.0.0.1:1/never",
    PORT: "0",
  };
  const proc = Bun.spawn(["bun", "src/index.ts"], {
    cwd: join(ROOT, "services", name),
    env: Object.fromEntries(Object.entries({ ...base, ...env }).filter(([, v]) => v !== undefined)) as Record<string, string>,
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, output: stdout + stderr };
}

const cases: [ServiceName, Record<string, string | undefined>, string][] = [
  ["ai-worker", { ANALYZER: "magic" }, "ANALYZER"],
  ["ai-worker", { BACKGROUND_REMOVAL: "scissors" }, "BACKGROUND_REMOVAL"],
  ["ai-worker", { BACKGROUND_REMOVAL: "cloudinary" }, "BACKGROUND_REMOVAL"],
  ["ai-worker", { STORAGE: "s3" }, "STORAGE"],
  ["ai-worker", { JOB_TIMEOUT_MS: "soon" }, "JOB_TIMEOUT_MS"],
  ["ingest", { JOB_ATTEMPTS: "0" }, "JOB_ATTEMPTS"],
  ["ingest", { MONGO_URL: "postgres://nope" }, "MONGO_URL"],
  ["gateway", { JWT_SECRET: undefined }, "JWT_SECRET"],
  ["gateway", { INGEST_URL: "not a url" }, "INGEST_URL"],
  ["notifier", { REDIS_URL: "localhost:6379" }, "REDIS_URL"],
  ["notifier", { PORT: "99999" }, "PORT"],
  ["ingest", { MONGO_DIALECT: "mysql" }, 'MONGO_DIALECT: must be "auto", "mongodb" or "ferretdb-v1"'],
  ["notifier", { MONGO_DIALECT: "ferretdb" }, "MONGO_DIALECT"],
  ["ai-worker", { MONGO_DIALECT: "MongoDB" }, "MONGO_DIALECT"],
];

describe("bad configuration stops a service at start", () => {
  for (const [name, env, variable] of cases) {
    test(`${name} with ${JSON.stringify(env)} names ${variable}`, async () => {
      const { code, output } = await startWith(name, env);
      expect(code).toBe(1);
      const line = output.split("\n").find((l) => l.includes("invalid configuration"));
      expect(line).toBeDefined();
      const entry = JSON.parse(line!);
      expect(entry.level).toBe("fatal");
      expect(entry.msg).toContain(variable);
    });
  }
});
