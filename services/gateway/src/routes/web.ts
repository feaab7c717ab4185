/**
 * The web page at `/` (services/gateway/web/): sign in, upload, watch each
 * Asset turn active or failed live, retry failures. Its script is bundled by
 * Bun (the API client and socket.io-client included: nothing comes from a
 * CDN) on the first request for the page, then kept in memory, so the
 * gateway's start costs nothing. `/config.json` tells the page where the
 * notifier is and whether the demo login is on.
 *
 * With DEV_LOGIN=true (set by `bun run dev`, never by default),
 * `POST /api/dev/token` mints a short-lived token for a fixed demo user;
 * otherwise that route answers 404.
 */
import { join } from "node:path";
import { DEMO_USER_ID } from "@pipeline/runtime/auth";
import { HttpError } from "@pipeline/runtime/http";
import type { Logger } from "@pipeline/runtime/logger";
import { type Context, Hono } from "hono";
import { sign } from "hono/jwt";

/** Lifetime of a demo token. */
export const DEV_TOKEN_TTL_S = 60 * 60;
const WEB_DIR = join(import.meta.dir, "..", "..", "web");

export interface WebPageOptions {
  /** The gateway's public base (PUBLIC_URL): image URLs point there. */
  publicUrl: string;
  /** Where browsers reach the notifier. */
  notifierPublicUrl: string;
  /** DEV_LOGIN: offer the demo user. */
  devLogin: boolean;
}

/** NOTIFIER_PUBLIC_URL's default: the gateway itself when it forwards the sockets, else PUBLIC_URL's host on the notifier's port. */
export function defaultNotifierPublicUrl(publicUrl: string, gatewayForwardsSockets: boolean): string {
  const url = new URL(publicUrl);
  if (!gatewayForwardsSockets) url.port = "3002";
  return url.origin;
}

interface Asset {
  body: string;
  type: string;
  etag: string;
}

function asset(body: string, type: string): Asset {
  return { body, type, etag: `"${Bun.hash(body).toString(36)}"` };
}

/** Answers with a cached asset, or 304 when the browser already has it. */
function serve(c: Context, file: Asset, headers: Record<string, string> = {}): Response {
  const common = { etag: file.etag, "cache-control": "no-cache", "x-content-type-options": "nosniff", ...headers };
  if (c.req.header("if-none-match") === file.etag) return new Response(null, { status: 304, headers: common });
  return new Response(file.body, { headers: { "content-type": file.type, ...common } });
}

/** Builds `web/app.ts` once, on first use; a failed build is tried again on the next request. */
function lazyBundle(logger: Logger): () => Promise<Asset> {
  let built: Promise<Asset> | undefined;
  const build = async (): Promise<Asset> => {
    const started = performance.now();
    const result = await Bun.build({ entrypoints: [join(WEB_DIR, "app.ts")], target: "browser", format: "esm", minify: true, throw: false });
    const output = result.outputs[0];
    if (!result.success || !output) throw new Error(result.logs.map((log) => log.message).join("; ") || "no output");
    const bundle = asset(await output.text(), "text/javascript; charset=utf-8");
    logger.info({ ms: Math.round(performance.now() - started), bytes: bundle.body.length }, "web page script bundled");
    return bundle;
  };
  return () => {
    built ??= build().catch((error: unknown) => {
      built = undefined;
      logger.error({ err: error }, "could not bundle the web page's script");
      throw new HttpError(503, "unavailable", "the web page's script could not be built; see the gateway's log");
    });
    return built;
  };
}

export function webRoutes(options: WebPageOptions & { jwtSecret: string; logger: Logger }) {
  const app = new Hono();
  const notifier = new URL(options.notifierPublicUrl);
  const notifierSocket = `${notifier.protocol === "https:" ? "wss:" : "ws:"}//${notifier.host}`;
  const contentSecurityPolicy = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' blob: data: https: ${new URL(options.publicUrl).origin}`,
    `connect-src 'self' ${notifier.origin} ${notifierSocket}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
  const bundle = lazyBundle(options.logger);
  let files: Promise<{ html: Asset; css: Asset }> | undefined;
  const staticFiles = () => {
    files ??= Promise.all([Bun.file(join(WEB_DIR, "index.html")).text(), Bun.file(join(WEB_DIR, "styles.css")).text()]).then(([html, css]) => ({
      html: asset(html, "text/html; charset=utf-8"),
      css: asset(css, "text/css; charset=utf-8"),
    }));
    return files;
  };
  const config = JSON.stringify({ notifierUrl: notifier.origin, devLogin: options.devLogin });

  app.get("/", async (c) => {
    void bundle().catch(() => undefined); // the script is asked for next: start building it now
    return serve(c, (await staticFiles()).html, { "content-security-policy": contentSecurityPolicy, "referrer-policy": "no-referrer" });
  });
  app.get("/web/app.js", async (c) => serve(c, await bundle()));
  app.get("/web/styles.css", async (c) => serve(c, (await staticFiles()).css));
  app.get("/config.json", (c) => c.body(config, 200, { "content-type": "application/json", "cache-control": "no-store" }));

  // Before /api's authentication: this route needs no token, and must not exist unless DEV_LOGIN is on.
  app.post("/api/dev/token", async (c) => {
    if (!options.devLogin) throw new HttpError(404, "not_found", `no route for ${c.req.method} ${c.req.path}`);
    const now = Math.floor(Date.now() / 1000);
    const exp = now + DEV_TOKEN_TTL_S;
    const token = await sign({ sub: DEMO_USER_ID, iat: now, exp }, options.jwtSecret, "HS256");
    return c.json({ token, userId: DEMO_USER_ID, expiresAt: new Date(exp * 1000).toISOString() }, 200, { "cache-control": "no-store" });
  });
  return app;
}
