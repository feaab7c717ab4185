/**
 * The published API documents match the code: every /api route ingest
 * registers is in the gateway's OpenAPI document, and real answers (through
 * the gateway) validate against the schema the document gives for their
 * operation and status. Also: the AsyncAPI document and the /docs page.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import SwaggerParser from "@apidevtools/swagger-parser";
import { Parser as AsyncApiParser } from "@asyncapi/parser";
import { Validator } from "@cfworker/json-schema";
import { createLogger } from "@pipeline/runtime/logger";
import { createMetrics } from "@pipeline/runtime/metrics";
import { Types } from "mongoose";
import { createIngestApp } from "../../services/ingest/src/app.ts";
import { getJson, postJson, upload } from "../helpers/api.ts";
import { productPhoto } from "../helpers/images.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";

type Operation = { operationId: string; responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }> };
type OpenApi = { openapi: string; paths: Record<string, Record<string, Operation>>; components: Record<string, unknown> };

let stack: Stack;
let doc: OpenApi;
let token: string;
const userId = newUserId();

beforeAll(async () => {
  stack = await Stack.start({ services: ["ingest", "gateway"] });
  token = await tokenFor(userId);
  const response = await fetch(`${stack.gatewayUrl}/api/openapi.json`);
  expect(response.status).toBe(200);
  doc = await response.json();
});
afterAll(() => stack?.stop());

/** Checks a real answer against the document: its status is declared for the operation and its JSON body fits that schema. */
async function expectConforms(response: Response, method: string, path: string, status: number) {
  expect(response.status).toBe(status);
  const operation = doc.paths[path]?.[method];
  if (!operation) throw new Error(`${method.toUpperCase()} ${path} is not in the document`);
  const declared = operation.responses[String(status)];
  if (!declared) throw new Error(`${operation.operationId} does not declare ${status}`);
  const schema = declared.content?.["application/json"]?.schema;
  if (!schema) throw new Error(`${operation.operationId} ${status} has no JSON schema`);
  const body = await response.json();
  const result = new Validator({ ...schema, components: doc.components } as never, "2020-12", false).validate(body);
  if (!result.valid) throw new Error(`${operation.operationId} ${status}: ${JSON.stringify(result.errors.slice(0, 5))}\n${JSON.stringify(body)}`);
  return body;
}

describe("OpenAPI document", () => {
  test("is OpenAPI 3.1 with a bearer scheme, served with no token at both addresses", async () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components.securitySchemes).toMatchObject({ bearer: { type: "http", scheme: "bearer" } });
    const old = await fetch(`${stack.gatewayUrl}/openapi.json`);
    expect(old.status).toBe(200);
    expect(await old.json()).toEqual(doc as never);
  });

  test("every /api route ingest registers is in it, with an operationId and the error shape", () => {
    const app = createIngestApp({
      logger: createLogger("contract-test", "silent"),
      metrics: createMetrics("contract-test"),
      assets: {} as never,
      removal: {} as never,
      idempotency: {} as never,
      jobs: {} as never,
      reanalysis: {} as never,
      webhooks: {} as never,
      internalSecret: "contract-test-secret-0123456789",
      maxImageBytes: 1,
      readiness: {},
      isShuttingDown: () => false,
    });
    const routes = new Set(
      app.routes
        .filter((route) => route.path.startsWith("/api/") && route.method !== "ALL" && !route.path.endsWith("*"))
        .map((route) => `${route.method.toLowerCase()} ${route.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    expect(routes.size).toBeGreaterThanOrEqual(6);
    for (const route of routes) {
      const [method, path] = route.split(" ") as [string, string];
      const operation = doc.paths[path]?.[method];
      expect(operation, `${route} is missing from the document`).toBeDefined();
      expect(operation?.operationId).toBeString();
      for (const status of ["401", "429", "503"]) {
        expect(operation?.responses[status]?.content?.["application/json"]?.schema).toEqual({ $ref: "#/components/schemas/Error" });
      }
    }
  });

  test("an independent OpenAPI 3.1 validator accepts it, and every $ref resolves within it", async () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((match) => match[1] as string);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of new Set(refs)) {
      expect(ref).toStartWith("#/components/");
      const target = ref
        .slice(2)
        .split("/")
        .reduce<unknown>((node, token) => (node as Record<string, unknown> | undefined)?.[token.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
      expect(target, `${ref} resolves`).toBeDefined();
    }
    // swagger-parser mutates what it is given: hand it a copy. validate() dereferences every $ref.
    await SwaggerParser.validate(structuredClone(doc) as never);
    const admin = doc.paths["/api/admin/session"]?.post?.responses["200"]?.content?.["application/json"]?.schema;
    expect(admin).toEqual({ $ref: "#/components/schemas/AdminSession" });
  });

  test("the gateway's own routes are in it, with no security", () => {
    for (const path of ["/healthz", "/readyz", "/media/{name}"]) expect(doc.paths[path]?.get).toMatchObject({ security: [] });
  });
});

describe("real answers fit the document", () => {
  let assetId: string;

  test("202 upload", async () => {
    const accepted = await expectConforms(
      await upload(stack.gatewayUrl, token, { image: await productPhoto({ format: "png" }), category: "sneaker" }),
      "post",
      "/api/assets/analyze-queue",
      202,
    );
    assetId = accepted.assetId;
  });

  test("200 get", async () => {
    const asset = await expectConforms(await getJson(stack.gatewayUrl, `/api/assets/${assetId}`, token), "get", "/api/assets/{id}", 200);
    expect(asset.id).toBe(assetId);
  });

  test("200 list", async () => {
    const page = await expectConforms(await getJson(stack.gatewayUrl, "/api/assets?limit=5", token), "get", "/api/assets", 200);
    expect(page.items.length).toBe(1);
  });

  test("404 get of an unknown id", async () => {
    const id = new Types.ObjectId().toHexString();
    await expectConforms(await getJson(stack.gatewayUrl, `/api/assets/${id}`, token), "get", "/api/assets/{id}", 404);
  });

  test("400 list with a bad query, in the usual error shape", async () => {
    const body = await expectConforms(await getJson(stack.gatewayUrl, "/api/assets?limit=0", token), "get", "/api/assets", 400);
    expect(body.error.code).toBe("bad_request");
    expect(body.error.message).toContain("limit");
  });

  test("400 upload with an unknown category", async () => {
    const response = await upload(stack.gatewayUrl, token, { image: await productPhoto({ format: "png" }), category: "spaceship" });
    const body = await expectConforms(response, "post", "/api/assets/analyze-queue", 400);
    expect(body.error.code).toBe("bad_request");
  });

  test("401 without a token", async () => {
    await expectConforms(await fetch(`${stack.gatewayUrl}/api/assets`), "get", "/api/assets", 401);
  });

  test("409 retry of an asset that is not failed", async () => {
    await expectConforms(await postJson(stack.gatewayUrl, `/api/assets/${assetId}/retry`, token), "post", "/api/assets/{id}/retry", 409);
  });

  test("403 admin route for a user without the admin role", async () => {
    await expectConforms(await getJson(stack.gatewayUrl, "/api/admin/jobs", token), "get", "/api/admin/jobs", 403);
  });

  test("200 admin job list", async () => {
    const admin = await tokenFor(newUserId(), { role: "admin" });
    await expectConforms(await getJson(stack.gatewayUrl, "/api/admin/jobs?state=waiting", admin), "get", "/api/admin/jobs", 200);
  });
});

describe("AsyncAPI document", () => {
  test("is AsyncAPI 3.1, needs no token, and names every socket event", async () => {
    const response = await fetch(`${stack.gatewayUrl}/api/asyncapi.json`);
    expect(response.status).toBe(200);
    const asyncApi = await response.json();
    expect(asyncApi.asyncapi).toBe("3.1.0");
    expect(asyncApi.channels.userRoom.address).toBe("user:{userId}");
    const names = new Set(Object.values(asyncApi.channels.userRoom.messages as Record<string, { name: string }>).map((message) => message.name));
    expect([...names].sort()).toEqual(["asset_deleted", "asset_processed", "asset_progress", "session", "session_expired"]);
  });

  test("the AsyncAPI parser finds nothing to report in it (no error, warning or hint)", async () => {
    const asyncApi = await (await fetch(`${stack.gatewayUrl}/api/asyncapi.json`)).text();
    const { document, diagnostics } = await new AsyncApiParser().parse(asyncApi);
    expect(diagnostics.map((diagnostic) => `${diagnostic.code}: ${diagnostic.message} at ${diagnostic.path.join(".")}`)).toEqual([]);
    expect(document?.operations().all().length).toBe(5);
  });
});

describe("/docs", () => {
  test("the reference page loads its script from the gateway and names no external URL", async () => {
    const response = await fetch(`${stack.gatewayUrl}/docs`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
    expect(html).toContain("/api/openapi.json");
    expect(html).toContain("/api/asyncapi.json");
    const scripts = [...html.matchAll(/<script[^>]*src="([^"]+)"/g)].map((match) => match[1] as string);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      expect(src).toStartWith("/");
      const script = await fetch(`${stack.gatewayUrl}${src}`);
      expect(script.status).toBe(200);
      expect(script.headers.get("content-type")).toContain("javascript");
      await script.arrayBuffer();
    }
  });
});
