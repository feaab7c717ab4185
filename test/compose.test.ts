/** compose.yaml cannot be run here (no Docker engine); check its shape instead. */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const compose = Bun.YAML.parse(await Bun.file(join(root, "compose.yaml")).text()) as {
  services: Record<
    string,
    { image?: string; build?: { args?: { SERVICE?: string } }; ports?: string[]; healthcheck?: { test: string[] }; environment?: Record<string, string> }
  >;
};

describe("compose.yaml", () => {
  test("runs redis, the official mongo image and the four services", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["ai-worker", "gateway", "ingest", "mongo", "notifier", "redis"]);
    expect(compose.services.mongo!.image).toMatch(/^mongo:/);
    for (const name of ["gateway", "ingest", "ai-worker", "notifier"]) expect(compose.services[name]!.build?.args?.SERVICE).toBe(name);
  });
  test("every service has a healthcheck", () => {
    for (const [name, service] of Object.entries(compose.services)) expect(service.healthcheck?.test.length, name).toBeGreaterThan(0);
  });
  test("only the gateway and the notifier are published", () => {
    const published = Object.entries(compose.services)
      .filter(([, s]) => s.ports?.length)
      .map(([name]) => name)
      .sort();
    expect(published).toEqual(["gateway", "notifier"]);
  });
  test("the ai-worker has no fixed host port, so it scales with --scale", () => {
    expect(compose.services["ai-worker"]!.ports).toBeUndefined();
  });
  test("the Dockerfile builds on the official Bun image", async () => {
    expect(await Bun.file(join(root, "Dockerfile")).text()).toMatch(/^FROM oven\/bun:/m);
  });
});
