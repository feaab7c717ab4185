/** The API's error shape `{error: {code, message}}` and the code of each status. */
import { z } from "zod";

export const ERROR_CODES = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  422: "unprocessable_entity",
  429: "rate_limited",
  500: "internal_error",
  503: "unavailable",
} as const;
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export function codeForStatus(status: number): string {
  return ERROR_CODES[status as keyof typeof ERROR_CODES] ?? (status >= 500 ? "internal_error" : "error");
}

export const errorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) }).meta({ id: "Error" });
export type ErrorBody = z.infer<typeof errorBodySchema>;

export const errorBody = (code: string, message: string): ErrorBody => ({ error: { code, message } });

/** One line naming each problem of a failed zod parse (`path: message; ...`): the one place zod errors are worded. */
export function describeZodError(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message)).join("; ");
}
