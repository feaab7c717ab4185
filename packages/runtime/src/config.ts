/**
 * Environment parsing shared by every service: one zod schema per service,
 * parsed once at start; a bad value stops the service with a message that
 * names the variable.
 */
import { AI_JOB_DEFAULTS, type AiJobSettings } from "@pipeline/contracts/jobs";
import { z } from "zod";

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function loadConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined> = process.env): z.infer<S> {
  // Empty strings mean "unset", as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(environment)"}: ${issue.message}`);
  throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
}

/** Environment values are strings; numbers are coerced and checked. */
export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const nonNegativeInt = (fallback: number) => z.coerce.number().int().min(0).default(fallback);
export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

/** Settings every service shares. */
export const baseConfigSchema = z.object({
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
    .default("redis://127.0.0.1:6379"),
  /** Prefix of every BullMQ key; tests use their own so runs cannot disturb each other. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, '_', '.', '-' only")
    .default("bull"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** How long a SIGTERM'd service may take to finish in-flight work. */
  SHUTDOWN_TIMEOUT_MS: positiveInt(10_000),
});

export const mongoConfigSchema = z.object({
  MONGO_URL: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\/[^/]+\/[^/?]+/, "must be a mongodb:// URL with a database name")
    .default("mongodb://127.0.0.1:27017/collectibles"),
});

export const jwtConfigSchema = z.object({
  JWT_SECRET: z.string({ error: "is required (the HS256 secret shared with the app that issues tokens)" }).min(16, "must be at least 16 characters"),
});

/** The specification's job options, each overridable (tests run with small ones). */
export const jobConfigSchema = z.object({
  JOB_ATTEMPTS: positiveInt(AI_JOB_DEFAULTS.attempts),
  JOB_BACKOFF_MS: nonNegativeInt(AI_JOB_DEFAULTS.backoffMs),
  JOB_TIMEOUT_MS: positiveInt(AI_JOB_DEFAULTS.timeoutMs),
  JOB_REMOVE_ON_COMPLETE_S: positiveInt(AI_JOB_DEFAULTS.removeOnCompleteS),
  JOB_REMOVE_ON_FAIL_S: positiveInt(AI_JOB_DEFAULTS.removeOnFailS),
});
export type JobConfig = z.infer<typeof jobConfigSchema>;

export function aiJobSettings(config: JobConfig): AiJobSettings {
  return {
    attempts: config.JOB_ATTEMPTS,
    backoffMs: config.JOB_BACKOFF_MS,
    removeOnCompleteS: config.JOB_REMOVE_ON_COMPLETE_S,
    removeOnFailS: config.JOB_REMOVE_ON_FAIL_S,
  };
}
