/** The public API described as OpenAPI 3.1, at /openapi.json (the contract of DESIGN.md, for client generators). */
import { ASSET_STATUSES, CATEGORIES } from "@pipeline/contracts";
import { Hono } from "hono";

const error = { $ref: "#/components/schemas/Error" };
const errorResponse = (description: string) => ({ description, content: { "application/json": { schema: error } } });
const detection = { type: "object", properties: { value: { type: ["string", "null"] }, confidence: { type: "number", minimum: 0, maximum: 1 } } };

export const openApiDocument = {
  openapi: "3.1.0",
  info: { title: "Collectibles AI pipeline", version: "0.1.0" },
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT (HS256, exp required, sub = user ObjectId)" } },
    schemas: {
      Error: { type: "object", properties: { error: { type: "object", properties: { code: { type: "string" }, message: { type: "string" } } } } },
      Asset: {
        type: "object",
        properties: {
          _id: { type: "string" },
          userId: { type: "string" },
          category: { enum: CATEGORIES },
          status: { enum: ASSET_STATUSES },
          images: { type: "object", properties: { original: { type: "object", properties: { url: { type: "string" } } }, processed: { type: "object", properties: { url: { type: "string" } } } } },
          aiMetadata: { type: "object", properties: { brand: detection, model: detection, colorway: detection, processedAt: { type: "string", format: "date-time" }, error: { type: "string" } } },
          processingJobId: { type: "string" },
          createdAt: { type: "string", format: "date-time" },
          updatedAt: { type: "string", format: "date-time" },
        },
      },
    },
  },
  security: [{ bearer: [] }],
  paths: {
    "/api/admin/jobs": {
      get: {
        summary: "Jobs by state (admin): the dead-letter set with state=failed",
        parameters: [
          { name: "state", in: "query", schema: { enum: ["failed", "waiting", "active", "delayed", "completed"], default: "failed" } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 200, default: 50 } },
          { name: "offset", in: "query", schema: { type: "integer", minimum: 0, default: 0 } },
        ],
        responses: { "200": { description: "Jobs with reason, attempts and asset" }, "403": errorResponse("Not an admin") },
      },
    },
    "/api/admin/jobs/{id}/retry": {
      post: { summary: "Retry one failed job (admin)", parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], responses: { "202": { description: "Queued again" }, "403": errorResponse("Not an admin"), "404": errorResponse("No such job"), "409": errorResponse("Not failed") } },
    },
    "/api/assets/analyze-queue": {
      post: {
        summary: "Upload a photo for analysis",
        requestBody: {
          content: {
            "multipart/form-data": {
              schema: { type: "object", required: ["image", "category"], properties: { image: { type: "string", format: "binary", description: "JPEG, PNG or WebP, at most 10 MB" }, category: { enum: CATEGORIES } } },
            },
          },
        },
        responses: {
          "202": { description: "Queued", content: { "application/json": { schema: { type: "object", properties: { assetId: { type: "string" }, jobId: { type: "string" }, status: { const: "processing" } } } } } },
          "400": errorResponse("Missing or bad field"), "401": errorResponse("No, invalid or expired token"), "413": errorResponse("Image over 10 MB"),
          "415": errorResponse("Not a JPEG, PNG or WebP image"), "429": errorResponse("Rate limited"), "503": errorResponse("A dependency is down"),
        },
      },
    },
    "/api/assets": {
      get: {
        summary: "The caller's assets, newest first",
        parameters: [
          { name: "status", in: "query", schema: { enum: ASSET_STATUSES } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
          { name: "cursor", in: "query", schema: { type: "string" }, description: "nextCursor of the previous page" },
          { name: "page", in: "query", schema: { type: "integer", minimum: 1 }, description: "1-based page number (instead of cursor)" },
          { name: "updatedSince", in: "query", schema: { type: "string", format: "date-time" }, description: "only assets changed at or after this time (catch-up after reconnecting)" },
        ],
        responses: { "200": { description: "A page", content: { "application/json": { schema: { type: "object", properties: { items: { type: "array", items: { $ref: "#/components/schemas/Asset" } }, nextCursor: { type: ["string", "null"] }, total: { type: "integer" }, limit: { type: "integer" }, page: { type: ["integer", "null"] } } } } } }, "400": errorResponse("Bad query") },
      },
    },
    "/api/assets/{id}": {
      get: { summary: "One of the caller's assets", parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], responses: { "200": { description: "The asset", content: { "application/json": { schema: { $ref: "#/components/schemas/Asset" } } } }, "404": errorResponse("Absent or not the caller's") } },
    },
    "/api/assets/{id}/retry": {
      post: { summary: "Queue a failed asset again", parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], responses: { "202": { description: "Queued again" }, "404": errorResponse("Absent or not the caller's"), "409": errorResponse("Not failed") } },
    },
  },
};

export function openApiRoutes() {
  const app = new Hono();
  app.get("/openapi.json", (c) => c.json(openApiDocument));
  return app;
}
