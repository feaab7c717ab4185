/**
 * The client's session with the gateway: the current token (a fixed one, or
 * a function read at every request) and authenticated JSON requests whose
 * answers are checked against their contract. Errors become ApiError.
 */
import { describeZodError, errorBodySchema } from "@pipeline/contracts";
import { z } from "zod";
import { ApiError } from "./errors.ts";

/** A JWT, or a function giving the current one (read at every request and socket (re)connection). */
export type TokenSource = string | (() => string | Promise<string>);

/** What a request sends besides the token: a multipart form or a JSON value, and extra headers. */
export interface RequestBody {
  form?: FormData;
  json?: unknown;
  headers?: Record<string, string>;
}

/** 204 answers have no body to check. */
export const noContentSchema = z.unknown().transform((): void => undefined);

export interface Session {
  currentToken(): Promise<string>;
  request<T extends z.ZodType>(method: string, path: string, schema: T, body?: RequestBody): Promise<z.output<T>>;
}

export function createSession(baseUrl: string, token: TokenSource): Session {
  const currentToken = async () => (typeof token === "function" ? await token() : token);

  async function request<T extends z.ZodType>(method: string, path: string, schema: T, body: RequestBody = {}): Promise<z.output<T>> {
    const url = `${baseUrl}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        body: body.form ?? (body.json === undefined ? undefined : JSON.stringify(body.json)),
        headers: {
          ...body.headers,
          ...(body.json === undefined ? {} : { "content-type": "application/json" }),
          authorization: `Bearer ${await currentToken()}`,
          accept: "application/json",
        },
      });
    } catch (error) {
      const reason = (error as { code?: unknown })?.code ?? (error instanceof Error ? error.message : String(error));
      throw new ApiError(0, "unreachable", `cannot reach the gateway at ${url} (${String(reason)})`);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const parsed = errorBodySchema.safeParse(json);
      if (parsed.success) throw new ApiError(response.status, parsed.data.error.code, parsed.data.error.message);
      throw new ApiError(response.status, "http_error", `${method} ${url} answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ""}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ApiError(response.status, "invalid_response", `${method} ${url} answered an unexpected body: ${describeZodError(parsed.error)}`);
    }
    return parsed.data;
  }

  return { currentToken, request };
}
