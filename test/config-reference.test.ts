/**
 * docs/configuration.md's variables table is generated from the services'
 * zod config schemas (scripts/config-reference.ts): the page must be what the
 * generator writes now, so a variable added, removed, re-defaulted or
 * re-described in a schema fails here until the page is regenerated.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { collectVariables, DocComments, PAGE, renderReference, SERVICE_SCHEMAS, withReference } from "../scripts/config-reference.ts";

const page = readFileSync(PAGE, "utf8");
const comments = DocComments.read();
const variables = collectVariables(comments);

describe("docs/configuration.md", () => {
  test("is what `bun scripts/config-reference.ts` writes from the schemas now", () => {
    const expected = withReference(page, renderReference(variables));
    if (expected !== page) throw new Error("docs/configuration.md is stale: run `bun scripts/config-reference.ts` and commit the page");
    expect(expected).toBe(page);
  });

  test("names every variable of every service, with the default its schema gives", () => {
    for (const [service, schema] of Object.entries(SERVICE_SCHEMAS)) {
      for (const name of Object.keys(schema.shape)) {
        const variable = variables.find((entry) => entry.service === service && entry.name === name);
        expect(variable, `${service} ${name}`).toBeDefined();
        expect(page).toContain(`| \`${name}\` | ${variable!.default} |`);
      }
    }
    expect(variables.find((entry) => entry.service === "notifier" && entry.name === "PORT")?.default).toBe("`3002`");
    expect(variables.find((entry) => entry.name === "JWT_SECRET")?.default).toBe("**required**");
    expect(variables.find((entry) => entry.name === "CATALOGUE_PATH")?.default).toBe("unset");
  });

  test("a variable added, re-defaulted or re-described in a schema makes the page stale", () => {
    const stale = (schemas: Record<string, z.ZodObject>) => withReference(page, renderReference(collectVariables(comments, schemas))) !== page;
    const gateway = SERVICE_SCHEMAS.gateway;
    expect(stale(SERVICE_SCHEMAS)).toBe(false);
    expect(stale({ ...SERVICE_SCHEMAS, gateway: gateway.extend({ EXAMPLE_LIMIT: z.coerce.number().default(7).describe("An example.") }) })).toBe(true);
    expect(stale({ ...SERVICE_SCHEMAS, gateway: gateway.extend({ RATE_LIMIT_PER_MINUTE: z.coerce.number().default(121) }) })).toBe(true);
    expect(stale({ ...SERVICE_SCHEMAS, gateway: gateway.extend({ RATE_LIMIT_PER_MINUTE: z.coerce.number().default(120).describe("Other words.") }) })).toBe(
      true,
    );
    expect(stale({ ...SERVICE_SCHEMAS, gateway: gateway.omit({ DEV_LOGIN: true }) })).toBe(true);
  });

  test("a variable with no description is refused, naming it", () => {
    const schemas = { ...SERVICE_SCHEMAS, gateway: SERVICE_SCHEMAS.gateway.extend({ UNDOCUMENTED_SETTING: z.string().optional() }) };
    expect(() => collectVariables(comments, schemas)).toThrow(/UNDOCUMENTED_SETTING \(gateway\) has no description/);
  });

  test("descriptions come from the doc comment where the schema declares the field, the service's own first", () => {
    expect(comments.lookup("notifier", "CORS_ORIGIN")).toContain("connect");
    expect(comments.lookup("gateway", "CORS_ORIGIN")).toContain("call the API");
    expect(comments.lookup("ingest", "MONGO_URL")).toContain("replica set");
  });
});
