/**
 * The public API described as OpenAPI 3.1, at /openapi.json. Its schemas are
 * generated from the same zod schemas that ingest serialises its responses
 * through, so the document cannot drift from the code.
 */
import { ASSET_STATUSES, CATEGORIES, objectIdSchema } from "@pipeline/contracts/asset";
import { componentSchemas, jsonSchemaOf } from "@pipeline/contracts/json-schema";
import { Hono } from "hono";

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (id: string, description: string) => ({ description, content: { "application/json": { schema: ref(id) } } });
const errorResponse = (description: string) => json("Error", description);
const assetIdParam = { name: "id", in: "path", required: true, schema: jsonSchemaOf(objectIdSchema) };
const anyObject = (description: string) => ({ description, content: { "application/json": { schema: { type: "object" } } } });

const commonErrors = {
  "401": errorResponse("No, invalid or expired token"),
  "429": errorResponse("Rate limited"),
  "503": errorResponse("A dependency is down"),
};

export const openApiDocument = {
  openapi: "3.1.0",
  info: { title: "Collectibles AI pipeline", version: "0.1.0" },
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT (HS256, exp required, sub = user ObjectId)" } },
    schemas: componentSchemas(),
  },
  security: [{ bearer: [] }],
  paths: {
    "/api/admin/jobs": {
      get: {
        operationId: "listJobs",
        summary: "Jobs by state (admin): the dead-letter set with state=failed",
        parameters: [
          { name: "state", in: "query", schema: { enum: ["failed", "waiting", "active", "delayed", "completed"], default: "failed" } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 200, default: 50 } },
          { name: "offset", in: "query", schema: { type: "integer", minimum: 0, default: 0 } },
        ],
        responses: { "200": anyObject("Jobs with reason, attempts and asset"), "403": errorResponse("Not an admin"), ...commonErrors },
      },
    },
    "/api/admin/jobs/{id}/retry": {
      post: {
        operationId: "retryJob",
        summary: "Retry one failed job (admin)",
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
        responses: {
          "202": anyObject("Queued again"),
          "403": errorResponse("Not an admin"),
          "404": errorResponse("No such job"),
          "409": errorResponse("Not failed"),
          ...commonErrors,
        },
      },
    },
    "/api/assets/analyze-queue": {
      post: {
        operationId: "analyzeAsset",
        summary: "Upload a photo for analysis",
        requestBody: {
          required: true,
          content: {
            "multipart/form-data": {
              schema: {
                type: "object",
                required: ["image", "category"],
                properties: { image: { type: "string", format: "binary", description: "JPEG, PNG or WebP, at most 10 MB" }, category: { enum: CATEGORIES } },
              },
            },
          },
        },
        responses: {
          "202": json("Accepted", "Queued"),
          "400": errorResponse("Missing or bad field"),
          "413": errorResponse("Image over 10 MB"),
          "415": errorResponse("Not a JPEG, PNG or WebP image"),
          ...commonErrors,
        },
      },
    },
    "/api/assets": {
      get: {
        operationId: "listAssets",
        summary: "The caller's assets, newest first",
        parameters: [
          { name: "status", in: "query", schema: { enum: ASSET_STATUSES } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
          { name: "cursor", in: "query", schema: { type: "string" }, description: "nextCursor of the previous page" },
          { name: "page", in: "query", schema: { type: "integer", minimum: 1 }, description: "1-based page number (instead of cursor)" },
          {
            name: "updatedSince",
            in: "query",
            schema: { type: "string", format: "date-time" },
            description: "only assets changed at or after this time (catch-up after reconnecting)",
          },
        ],
        responses: { "200": json("AssetPage", "A page"), "400": errorResponse("Bad query"), ...commonErrors },
      },
    },
    "/api/assets/{id}": {
      get: {
        operationId: "getAsset",
        summary: "One of the caller's assets",
        parameters: [assetIdParam],
        responses: { "200": json("Asset", "The asset"), "404": errorResponse("Absent or not the caller's"), ...commonErrors },
      },
    },
    "/api/assets/{id}/retry": {
      post: {
        operationId: "retryAsset",
        summary: "Queue a failed asset again",
        parameters: [assetIdParam],
        responses: {
          "202": json("Accepted", "Queued again"),
          "404": errorResponse("Absent or not the caller's"),
          "409": errorResponse("Not failed"),
          ...commonErrors,
        },
      },
    },
  },
};

export function openApiRoutes() {
  const app = new Hono();
  app.get("/openapi.json", (c) => c.json(openApiDocument));
  return app;
}
