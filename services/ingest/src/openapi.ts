/**
 * Ingest's /api routes are declared with @hono/zod-openapi: the zod schemas
 * that validate each request and shape each response also generate the
 * OpenAPI 3.1 document (served at /openapi.json; the gateway publishes it).
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { describeZodError, errorBodySchema } from "@pipeline/contracts/errors";
import { HttpError } from "@pipeline/runtime/http";
import type { IngestEnv } from "./auth.ts";

/** An OpenAPIHono whose failed validations are the usual 400 `{error: {code: "bad_request", message}}`. */
export function openApiApp() {
  return new OpenAPIHono<IngestEnv>({
    defaultHook: (result) => {
      if (!result.success) throw new HttpError(400, "bad_request", describeZodError(result.error));
    },
  });
}

/** Every /api operation needs the bearer token (the user's JWT at the gateway). */
export const SECURITY = [{ bearer: [] }];

const ERROR_DESCRIPTIONS = {
  400: "Missing or bad field",
  401: "No, invalid or expired token",
  403: "Not an admin",
  404: "Absent or not the caller's",
  409: "Not in a state that allows it",
  413: "Image too large",
  415: "Not a JPEG, PNG or WebP image",
  422: "Idempotency-Key reused with a different request",
  503: "A dependency is down",
} as const;
type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

/** The error responses a route answers, each `{error: {code, message}}`; 401 and 503 are always possible. */
export function errorResponses<S extends ErrorStatus>(...statuses: S[]) {
  const all = [...new Set<ErrorStatus>([...statuses, 401, 503])].sort();
  return Object.fromEntries(
    all.map((status) => [status, { description: ERROR_DESCRIPTIONS[status], content: { "application/json": { schema: errorBodySchema } } }]),
  ) as Record<S | 401 | 503, { description: string; content: { "application/json": { schema: typeof errorBodySchema } } }>;
}

export const OPENAPI_INFO = {
  title: "Collectibles AI pipeline",
  version: "0.1.0",
  description:
    'The public HTTP API, behind the gateway. Every `/api` route needs `Authorization: Bearer <JWT>` (HS256, `exp` required, `sub` the user\'s ObjectId, `role: "admin"` for admins). Errors are `{error: {code, message}}`.',
};

/** A JSON response of `schema` for a route's `responses`. */
export const json = <T>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
