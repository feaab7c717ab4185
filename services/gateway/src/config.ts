import { baseConfigSchema, jwtConfigSchema, port, positiveInt } from "@pipeline/runtime/config";
import { storageConfigSchema } from "@pipeline/storage";
import { z } from "zod";

export const gatewayConfigSchema = baseConfigSchema
  .extend(jwtConfigSchema.shape)
  .extend(storageConfigSchema.shape)
  .extend({
    /** HTTP port: the API, the web page, /docs, /media, /socket.io/ (with NOTIFIER_URL), health and metrics. */
    PORT: port(3000),
    /** Where ingest is (the gateway forwards /api and /admin to it). */
    INGEST_URL: z.url().default("http://127.0.0.1:3001"),
    /** Secret of the internal tokens sent to ingest; derived from JWT_SECRET when unset. */
    INTERNAL_SECRET: z.string().min(16).optional(),
    /** Requests per user per minute across all gateway replicas (kept in Redis), uploads apart. */
    RATE_LIMIT_PER_MINUTE: positiveInt(120),
    /** Uploads (POST /api/assets/analyze-queue) per user per minute, a budget of their own. */
    UPLOAD_RATE_LIMIT_PER_MINUTE: positiveInt(30),
    /**
     * /api requests without a valid token per client IP per minute: one a second on average, plenty for a
     * client retrying with a fixed token, while a flood of bad tokens is 429 within a minute. Keep it above
     * the number of users behind one NAT that might send an expired token at once.
     */
    IP_RATE_LIMIT_PER_MINUTE: positiveInt(60),
    /** How many proxies of ours stand in front of the gateway; 0: the client IP is the socket's, X-Forwarded-For is ignored. */
    TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
    /**
     * Bun's idleTimeout (at most 255 s): an idle keep-alive connection is closed after it, so are the headers of a
     * connection's second and later requests if not in by then (the first request's headers get Bun's fixed 10 s), and
     * a body arriving slower than 16 KB/s. Forwarded API requests get UPSTREAM_TIMEOUT_MS instead (routes/proxy.ts).
     * Behind a load balancer that reuses connections, keep it above the balancer's own idle timeout.
     */
    IDLE_TIMEOUT_S: z.coerce.number().int().min(1).max(255).default(10),
    /** Largest request body: a 10 MB image plus the multipart envelope. */
    MAX_BODY_BYTES: positiveInt(10 * 1024 * 1024 + 64 * 1024),
    /** How long ingest may take to answer. */
    UPSTREAM_TIMEOUT_MS: positiveInt(30_000),
    /** Browser origins allowed to call the API (comma-separated), or *; unset: no CORS headers at all (`bun run dev`: *). Preflights are answered 204 with no token. */
    CORS_ORIGIN: z.string().trim().min(1).optional(),
    /**
     * The notifiers the gateway forwards /socket.io/ to (comma-separated base URLs; each host name stands for all
     * its addresses, as compose's service name does for every replica); unset: the gateway forwards no sockets.
     */
    NOTIFIER_URL: z
      .string()
      .transform((value) => value.split(",").map((entry) => entry.trim()))
      .pipe(z.array(z.url({ protocol: /^https?$/, error: "must be a comma-separated list of http(s):// URLs" })).min(1))
      .optional(),
    /**
     * Where browsers and clients reach the notifier (the web page's sockets, the AsyncAPI document); default: PUBLIC_URL
     * itself when NOTIFIER_URL is set (the gateway forwards the sockets), else PUBLIC_URL's host on port 3002.
     */
    NOTIFIER_PUBLIC_URL: z.url().optional(),
    /** Development only: `POST /api/dev/token` mints a 1 h token for a fixed demo user, and the web page offers it (`bun run dev`: true). */
    DEV_LOGIN: z.stringbool().default(false),
  });
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
