/**
 * The queue dashboard: Bull Board at /admin/queues, read-only. Its retry and remove buttons
 * would bypass the Asset state machine (a removed waiting job leaves its Asset `processing`
 * for good), so queues are controlled through /api/admin instead. The gateway forwards
 * /admin to ingest only for admins; app.ts puts requireGateway and requireAdmin in front.
 * The UI is @bull-board/ui's own build, served from node_modules: nothing from a CDN.
 * Bull Board is loaded on the first request to the board: few ingest replicas ever serve it,
 * and loaded at start it would cost every one of them about 4 MiB.
 */
import { HttpError } from "@pipeline/runtime/http";
import type { Queue } from "bullmq";
import { Hono } from "hono";
import { serveStatic } from "hono/bun";

/** Public path of the dashboard (the gateway forwards it as is). */
export const QUEUE_BOARD_PATH = "/admin/queues";

/** Only the board's own files and API; inline styles for its React UI; no framing. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Bull Board's page links a web font (Google Fonts); any asset from another host is dropped, the UI falls back to local fonts. */
const EXTERNAL_ASSETS = ["http:", "https:", "//"].flatMap((scheme) => [`link[href^="${scheme}"]`, `script[src^="${scheme}"]`]).join(", ");
const withoutExternalAssets = (page: Response) =>
  new HTMLRewriter()
    .on(EXTERNAL_ASSETS, {
      element(element) {
        element.remove();
      },
    })
    .transform(page);

/** Bull Board over `queues`, answering under QUEUE_BOARD_PATH. */
async function loadBoard(queues: Queue[]): Promise<Hono> {
  const [{ createBullBoard }, { BullMQAdapter }, { HonoAdapter }] = await Promise.all([
    import("@bull-board/api"),
    import("@bull-board/api/bullMQAdapter"),
    import("@bull-board/hono"),
  ]);
  const serverAdapter = new HonoAdapter(serveStatic).setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: true })),
    serverAdapter,
    options: { uiConfig: { boardTitle: "Pipeline queues", hideDocsLink: true } },
  });
  return new Hono().route(QUEUE_BOARD_PATH, serverAdapter.registerPlugin());
}

export function queueBoard(queues: Queue[]): Hono {
  let board: Promise<Hono> | undefined;
  const app = new Hono();
  // Read-only mode hides the buttons and makes the board's actions answer 405; nothing but reads even reaches it.
  app.on(["POST", "PUT", "PATCH", "DELETE"], "*", () => {
    throw new HttpError(405, "method_not_allowed", "the queue dashboard is read-only; control queues through /api/admin");
  });
  app.use("*", async (c, next) => {
    // The page is at the path without a slash (its base href has one); a relative redirect, so it holds behind the gateway.
    if (c.req.path === `${QUEUE_BOARD_PATH}/`) return c.redirect(QUEUE_BOARD_PATH, 308);
    await next();
    c.res.headers.set("content-security-policy", CONTENT_SECURITY_POLICY);
    c.res.headers.set("x-content-type-options", "nosniff");
    c.res.headers.set("referrer-policy", "no-referrer");
    // The page and its API answers are live queue data; only the versioned static files may be cached.
    if (!c.req.path.startsWith(`${QUEUE_BOARD_PATH}/static/`)) c.res.headers.set("cache-control", "no-store");
    if (c.res.headers.get("content-type")?.startsWith("text/html")) c.res = withoutExternalAssets(c.res);
  });
  app.get("*", async (c) => {
    board ??= loadBoard(queues).catch((error: unknown) => {
      board = undefined; // tried again on the next request
      throw error;
    });
    return (await board).fetch(c.req.raw);
  });
  return app;
}
