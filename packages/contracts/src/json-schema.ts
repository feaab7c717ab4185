/**
 * JSON Schemas of the wire contracts, generated from the zod schemas (never
 * written by hand), for the OpenAPI and AsyncAPI documents. Every schema with
 * a `.meta({id})` becomes a named component; references point at
 * `#/components/schemas/<id>`.
 */
import { z } from "zod";
import "./asset.ts";
import "./errors.ts";

export function componentSchemas(): Record<string, unknown> {
  const { schemas } = z.toJSONSchema(z.globalRegistry, { target: "draft-2020-12", io: "output", uri: (id) => `#/components/schemas/${id}` });
  // Components are named by their key: no $schema or $id of their own.
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _, $id: __, ...schema }]) => [id, schema]));
}

/** The JSON Schema of one small zod schema (a parameter, say), inlined. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" }) as Record<string, unknown>;
  return rest;
}
