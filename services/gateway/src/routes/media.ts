/** Serves local storage's images at /media/<name>; names are unguessable, so no token is needed. */
import { HttpError } from "@pipeline/runtime/http";
import type { LocalStorage } from "@pipeline/storage";
import { Hono } from "hono";

const TYPES: Record<string, string> = { png: "image/png", jpg: "image/jpeg", webp: "image/webp" };

export function mediaRoutes(storage: LocalStorage) {
  const app = new Hono();
  app.get("/:name", async (c) => {
    const name = c.req.param("name");
    const path = storage.pathOf(name);
    const file = path ? Bun.file(path) : null;
    if (!file || !(await file.exists())) throw new HttpError(404, "not_found", "no such image");
    return new Response(file, {
      headers: {
        "content-type": TYPES[name.split(".").pop() ?? ""] ?? "application/octet-stream",
        "cache-control": "public, max-age=31536000, immutable",
        "x-content-type-options": "nosniff",
      },
    });
  });
  return app;
}
