/** /api/webhooks: register, list, delete, and read deliveries of the caller's webhooks (Standard Webhooks). */
import { createRoute, z } from "@hono/zod-openapi";
import { createdWebhookSchema, createWebhookSchema, deliveryListSchema, webhookListSchema } from "@pipeline/contracts/webhooks";
import { errorResponses, json, openApiApp, SECURITY } from "../openapi.ts";
import type { WebhooksService } from "../services/webhooks-service.ts";

/** Any id is looked up: a malformed one is 404 like an unknown one or another user's. */
const idParams = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, description: "The webhook's id (a 24-hex ObjectId)", example: "65f1c0ffee0123456789abcf" }),
});

export const createWebhookRoute = createRoute({
  method: "post",
  path: "/",
  operationId: "createWebhook",
  summary: "Register a webhook (its signing secret is shown only in this answer)",
  tags: ["webhooks"],
  security: SECURITY,
  request: { body: { required: true, content: { "application/json": { schema: createWebhookSchema } } } },
  responses: { 201: json(createdWebhookSchema, "Registered"), ...errorResponses(400, 409) },
});

export const listWebhooksRoute = createRoute({
  method: "get",
  path: "/",
  operationId: "listWebhooks",
  summary: "The caller's webhooks, newest first (without secrets)",
  tags: ["webhooks"],
  security: SECURITY,
  responses: { 200: json(webhookListSchema, "The webhooks"), ...errorResponses() },
});

export const deleteWebhookRoute = createRoute({
  method: "delete",
  path: "/{id}",
  operationId: "deleteWebhook",
  summary: "Delete one of the caller's webhooks (pending deliveries end as failed)",
  tags: ["webhooks"],
  security: SECURITY,
  request: { params: idParams },
  responses: { 204: { description: "Deleted" }, ...errorResponses(404) },
});

export const listDeliveriesRoute = createRoute({
  method: "get",
  path: "/{id}/deliveries",
  operationId: "listWebhookDeliveries",
  summary: "A webhook's latest deliveries, newest first, with every attempt",
  tags: ["webhooks"],
  security: SECURITY,
  request: { params: idParams },
  responses: { 200: json(deliveryListSchema, "Up to 50 deliveries"), ...errorResponses(404) },
});

export function webhookRoutes(deps: { webhooks: WebhooksService }) {
  const app = openApiApp();

  app.openapi(createWebhookRoute, async (c) => c.json(await deps.webhooks.create(c.var.user.userId, c.req.valid("json")), 201));

  app.openapi(listWebhooksRoute, async (c) => c.json(await deps.webhooks.list(c.var.user.userId), 200));

  app.openapi(deleteWebhookRoute, async (c) => {
    await deps.webhooks.delete(c.req.valid("param").id, c.var.user.userId);
    return c.body(null, 204);
  });

  app.openapi(listDeliveriesRoute, async (c) => c.json(await deps.webhooks.deliveries(c.req.valid("param").id, c.var.user.userId), 200));

  return app;
}
