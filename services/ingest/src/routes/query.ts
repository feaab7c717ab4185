/** Query strings checked with zod; a bad one is a 400 naming each problem. */
import { describeZodError } from "@pipeline/contracts/errors";
import { HttpError } from "@pipeline/runtime/http";
import type { z } from "zod";

export function parseQuery<S extends z.ZodType>(schema: S, query: Record<string, string>): z.infer<S> {
  const parsed = schema.safeParse(query);
  if (!parsed.success) throw new HttpError(400, "bad_request", describeZodError(parsed.error));
  return parsed.data;
}
