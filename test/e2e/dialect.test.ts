/**
 * Every service that talks to the database logs the dialect its stores use
 * at start (`dialect`: `mongodb` or `ferretdb-v1`): recognised from the
 * server with MONGO_DIALECT=auto, or the one MONGO_DIALECT forces.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type MongoDialect, resolveDialect } from "@pipeline/runtime/mongo";
import { MongoClient } from "mongodb";
import { ROOT, type ServiceName, stopProcess } from "../../scripts/lib/processes.ts";
import { requireRedis, sharedMongoBase, TEST_REDIS_URL } from "../helpers/shared-servers.ts";
import { TEST_JWT_SECRET } from "../helpers/stack.ts";

let mongoBase: string;
let serverDialect: MongoDialect;

beforeAll(async () => {
  await requireRedis();
  mongoBase = await sharedMongoBase();
  const client = await new MongoClient(mongoBase).connect();
  serverDialect = resolveDialect("auto", await client.db("admin").command({ buildInfo: 1 }));
  await client.close();
});

/** The JSON line of `name`'s start that names its dialect. */
async function dialectLine(name: ServiceName, setting: string): Promise<Record<string, unknown>> {
  const env = {
    ...process.env,
    MONGO_URL: `${mongoBase}/dialect_${Date.now().toString(36)}`,
    MONGO_DIALECT: setting,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: `dialect${Date.now().toString(36)}`,
    JWT_SECRET: TEST_JWT_SECRET,
    PORT: "0",
    LOG_LEVEL: "info",
  };
  const proc = Bun.spawn(["bun", "src/index.ts"], { cwd: join(ROOT, "services", name), env, stdout: "pipe", stderr: "ignore" });
  try {
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      const line = text.split("\n").find((entry) => entry.includes('"dialect"'));
      if (line) return JSON.parse(line);
    }
    throw new Error(`${name} logged no dialect:\n${text}`);
  } finally {
    await stopProcess(proc, 10_000);
  }
}

describe.each(["ingest", "ai-worker", "notifier"] as ServiceName[])("%s", (name) => {
  test("logs the dialect the server is recognised as, and the one MONGO_DIALECT forces", async () => {
    expect(await dialectLine(name, "auto")).toMatchObject({ service: name, dialect: serverDialect, setting: "auto" });
    expect(await dialectLine(name, "mongodb")).toMatchObject({ service: name, dialect: "mongodb", setting: "mongodb" });
  }, 90_000);
});
