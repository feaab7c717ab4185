/**
 * The reply's JSON schema and the response formats tried in turn. Servers
 * differ in what they accept (OpenAI's strict mode; Google's subset refuses
 * `$ref`; LM Studio refuses json_object; older models have no json_schema),
 * so the client starts at the strictest and steps down when one is refused,
 * remembering per endpoint what worked.
 */
import { extractedMetadataSchema } from "@pipeline/contracts/asset";
import { z } from "zod";

type JsonSchema = { [key: string]: unknown };

/**
 * The schema with every local `$ref` replaced by what it points to and
 * `$defs`/`$schema` dropped: Google's subset refuses `$ref`, and the others
 * accept the inlined form as well.
 */
export function inlineRefs(schema: JsonSchema): JsonSchema {
  const root = schema;
  const resolve = (node: unknown, seen: string[]): unknown => {
    if (Array.isArray(node)) return node.map((item) => resolve(item, seen));
    if (!node || typeof node !== "object") return node;
    const { $ref, $defs: _defs, definitions: _definitions, $schema: _schema, ...rest } = node as JsonSchema;
    if (typeof $ref === "string") {
      if (seen.includes($ref)) throw new Error(`recursive $ref ${$ref} cannot be inlined`);
      return resolve({ ...pointer(root, $ref), ...rest }, [...seen, $ref]);
    }
    return Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, resolve(value, seen)]));
  };
  return resolve(schema, []) as JsonSchema;
}

function pointer(root: JsonSchema, ref: string): JsonSchema {
  if (!ref.startsWith("#")) throw new Error(`only local $refs can be inlined, not ${ref}`);
  let node: unknown = root;
  for (const part of ref.slice(1).split("/").filter(Boolean)) {
    node = (node as JsonSchema | undefined)?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  if (!node || typeof node !== "object") throw new Error(`$ref ${ref} points nowhere`);
  return node as JsonSchema;
}

/** The reply's schema, from the contract's zod schema, with no `$ref`, `$defs` or `$schema`. */
export const METADATA_JSON_SCHEMA = inlineRefs(z.toJSONSchema(extractedMetadataSchema) as JsonSchema);

/** Strictest first. `prompt` sends no response_format: the schema goes in the prompt. */
export const FORMAT_MODES = ["strict", "schema", "object", "prompt"] as const;
export type FormatMode = (typeof FORMAT_MODES)[number];

const SCHEMA_NAME = "extracted_metadata";

/** The request's `response_format` in this mode (undefined in `prompt` mode). */
export function responseFormat(mode: FormatMode): Record<string, unknown> | undefined {
  switch (mode) {
    case "strict":
      return { type: "json_schema", json_schema: { name: SCHEMA_NAME, strict: true, schema: METADATA_JSON_SCHEMA } };
    case "schema":
      return { type: "json_schema", json_schema: { name: SCHEMA_NAME, strict: false, schema: METADATA_JSON_SCHEMA } };
    case "object":
      return { type: "json_object" };
    case "prompt":
      return undefined;
  }
}

/** The modes where the server does not hold the model to the schema, so the prompt carries it. */
export const schemaInPrompt = (mode: FormatMode) => mode === "object" || mode === "prompt";

/** What worked last, per endpoint (base URL and model): the next request starts there. */
export class FormatMemory {
  private readonly modes = new Map<string, FormatMode>();

  modeFor(endpoint: string): FormatMode {
    return this.modes.get(endpoint) ?? FORMAT_MODES[0];
  }

  /** The next mode after a refusal, remembered; null when none is left. */
  stepDown(endpoint: string, refused: FormatMode): FormatMode | null {
    // Never back up: a concurrent job may have stepped further down meanwhile.
    const index = Math.max(FORMAT_MODES.indexOf(refused) + 1, FORMAT_MODES.indexOf(this.modeFor(endpoint)));
    const next = FORMAT_MODES[index] ?? null;
    if (next) this.modes.set(endpoint, next);
    return next;
  }
}
