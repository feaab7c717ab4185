/**
 * Environment parsing shared by every service: one zod schema per service,
 * parsed once at start; a bad value stops the service with a message that
 * names the variable.
 */
import { z } from "zod";

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function loadConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined> = process.env): z.infer<S> {
  // Empty strings mean "unset", as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const result = schema.safeParse(cleaned);
  if (result.success) return withClusterPrefix(result.data);
  const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(environment)"}: ${issue.message}`);
  throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
}

/** The store dialects (mongo.ts chooses one at connect; MONGO_DIALECT may also say `auto`). */
export const MONGO_DIALECTS = ["mongodb", "ferretdb-v1"] as const;

/** Environment values are strings; numbers are coerced and checked. */
export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
export const nonNegativeInt = (fallback: number) => z.coerce.number().int().min(0).default(fallback);
export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

export interface ClusterNode {
  host: string;
  port: number;
}

/** `host:port,host:port` (an IPv6 host in brackets: `[::1]:7000`). */
const clusterNodes = z.string().transform((value, ctx): ClusterNode[] => {
  const nodes: ClusterNode[] = [];
  for (const entry of value.split(",").map((part) => part.trim())) {
    const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      ctx.addIssue({ code: "custom", message: `"${entry}" is not host:port (expected a comma-separated list of host:port)` });
      return z.NEVER;
    }
    nodes.push({ host: match[1]!.replace(/^\[|\]$/g, ""), port });
  }
  return nodes;
});

/**
 * The hash tag of a key prefix, or null: Redis Cluster hashes only what lies between the
 * first "{" and the next "}" when that is not empty, so every key starting with the prefix shares its slot.
 */
export function hashTagOf(prefix: string): string | null {
  const open = prefix.indexOf("{");
  const close = open === -1 ? -1 : prefix.indexOf("}", open + 1);
  return close > open + 1 ? prefix.slice(open + 1, close) : null;
}

/**
 * On Redis Cluster every key the pipeline writes must live in one slot: BullMQ's Lua scripts touch
 * many keys of a queue (and build some inside the script), and the socket stream's script reads
 * markers beside the stream. So the prefix becomes a hash tag ("bull" -> "{bull}"), unless it
 * already has one.
 */
function withClusterPrefix<T>(config: T): T {
  if (typeof config !== "object" || config === null) return config;
  const values = config as { REDIS_CLUSTER_NODES?: unknown; QUEUE_PREFIX?: unknown };
  if (!values.REDIS_CLUSTER_NODES || typeof values.QUEUE_PREFIX !== "string" || hashTagOf(values.QUEUE_PREFIX)) return config;
  return { ...config, QUEUE_PREFIX: `{${values.QUEUE_PREFIX}}` };
}

/** Settings every service shares. */
export const baseConfigSchema = z.object({
  /** Redis for BullMQ, the Socket.IO adapter and the rate limits; with REDIS_CLUSTER_NODES only its user, password and TLS (`rediss://`) are used. */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
    .default("redis://127.0.0.1:6379"),
  /** A Redis Cluster instead of one Redis: `host:port,host:port,...` (some or all nodes; the rest are discovered); REDIS_URL then gives only the credentials and TLS (rediss://). */
  REDIS_CLUSTER_NODES: clusterNodes.optional(),
  /** Prefix of every Redis key; tests use their own so runs cannot disturb each other. On a cluster it is made a hash tag, `bull` -> `{bull}` (one with a `{tag}` already is kept). */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.{}-]+$/, "letters, digits, '_', '.', '-', '{', '}' only")
    .default("bull"),
  /** pino's level of the JSON logs. */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** How long a SIGTERM'd service may take to finish or hand back its in-flight work before it exits anyway. */
  SHUTDOWN_TIMEOUT_MS: positiveInt(10_000),
});

export const mongoConfigSchema = z.object({
  /** MongoDB connection string with a database name: one server, a replica set (several hosts and `replicaSet=`) or a hosted cluster (`mongodb+srv://`); `bun run dev` and the tests use the embedded FerretDB unless it is set. */
  MONGO_URL: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\/[^/]+\/[^/?]+/, "must be a mongodb:// URL with a database name")
    .default("mongodb://127.0.0.1:27017/collectibles"),
  /** Which store adapters the services use: `auto` asks the server (`buildInfo`) at connect and takes `ferretdb-v1` for FerretDB 1.x, else `mongodb`; `mongodb` or `ferretdb-v1` choose one. */
  MONGO_DIALECT: z.enum(["auto", ...MONGO_DIALECTS], { error: 'must be "auto", "mongodb" or "ferretdb-v1"' }).default("auto"),
});

export const jwtConfigSchema = z.object({
  /** The HS256 secret shared with the app that issues users' tokens (at least 16 characters); `bun run dev` uses a logged dev-only one when unset. */
  JWT_SECRET: z.string({ error: "is required (the HS256 secret shared with the app that issues tokens)" }).min(16, "must be at least 16 characters"),
});
