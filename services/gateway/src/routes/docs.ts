/**
 * The API reference at /docs (Scalar), showing the OpenAPI and the AsyncAPI
 * documents. Works on a closed network: the page's script is Scalar's
 * standalone bundle served from node_modules at /docs/scalar.js, never a CDN,
 * and Scalar's default web fonts are off.
 */
import { dirname, join } from "node:path";
import { Scalar } from "@scalar/hono-api-reference";
import { Hono } from "hono";

const STANDALONE = join(dirname(Bun.resolveSync("@scalar/api-reference", import.meta.dir)), "browser", "standalone.js");

export function docsRoutes() {
  const app = new Hono();
  app.get(
    "/",
    Scalar({
      pageTitle: "Collectibles AI pipeline: API reference",
      cdn: "/docs/scalar.js",
      withDefaultFonts: false,
      hideClientButton: true,
      telemetry: false,
      sources: [
        { title: "HTTP API (OpenAPI 3.1)", slug: "http", url: "/api/openapi.json", default: true },
        { title: "Socket events (AsyncAPI 3.1)", slug: "socket", url: "/api/asyncapi.json" },
      ],
    }),
  );
  app.get("/scalar.js", () => {
    const file = Bun.file(STANDALONE);
    return new Response(file, { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=3600" } });
  });
  return app;
}
