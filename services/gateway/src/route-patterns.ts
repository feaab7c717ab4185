/**
 * The `route` label of the gateway's HTTP metrics. Everything forwarded to
 * ingest matches Hono's `/api/*`, so the concrete path is mapped to its API
 * pattern (`/api/assets/:id`) from the OpenAPI document's paths
 * (`/api/assets/{id}`); a path no pattern fits gets one fixed label, never
 * itself, so the label's values stay bounded whatever clients send.
 */
import type { Context } from "hono";

/** The label of a forwarded request that fits no documented path (or before the document is known). */
export const UNMATCHED_API_ROUTE = "/api/unmatched";
/** The gateway's catch-all route that forwards to ingest. */
const FORWARDED_ROUTE = "/api/*";

interface Pattern {
  label: string;
  /** One per segment: the literal text, or null for a `{param}`. */
  segments: (string | null)[];
}

/** Compiles OpenAPI paths once into a matcher from a concrete path to its Hono-style pattern. */
export function compileRoutePatterns(paths: Iterable<string>): (path: string) => string | undefined {
  const byLength = new Map<number, Pattern[]>();
  for (const path of paths) {
    const segments = path
      .split("/")
      .slice(1)
      .map((segment) => (/^\{[^}]+\}$/.test(segment) ? null : segment));
    const label = path.replace(/\{([^}]+)\}/g, ":$1");
    const group = byLength.get(segments.length) ?? [];
    group.push({ label, segments });
    byLength.set(segments.length, group);
  }
  // A literal segment wins over a parameter at the same place (`/api/assets/analyze-queue` before `/api/assets/{id}`).
  for (const group of byLength.values()) group.sort((a, b) => specificity(b.segments).localeCompare(specificity(a.segments)));
  return (path) => {
    const segments = path.split("/").slice(1);
    const candidates = byLength.get(segments.length);
    return candidates?.find((pattern) => pattern.segments.every((literal, i) => (literal === null ? segments[i] !== "" : literal === segments[i])))?.label;
  };
}

/** "1" per literal segment and "0" per parameter: compared as strings, earlier literals rank first. */
const specificity = (segments: (string | null)[]) => segments.map((segment) => (segment === null ? "0" : "1")).join("");

/**
 * `routeOf` for `httpMetrics`: routes the gateway answers itself keep Hono's
 * pattern; forwarded ones are labelled by the API pattern their path fits.
 * `loadPaths` is the OpenAPI document's paths (fetched and cached elsewhere);
 * it is read right away and then, until that succeeds, at most every `retryMs`
 * on a forwarded request (ingest may be down when the gateway starts).
 */
export function apiRouteOf(loadPaths: () => Promise<string[]>, retryMs = 5000): (c: Context) => string {
  let match: ((path: string) => string | undefined) | undefined;
  let nextTry = 0;
  const load = () => {
    if (match || Date.now() < nextTry) return;
    nextTry = Date.now() + retryMs;
    // Deferred to a microtask: the source may be set up just after this call, and a throw becomes a retry.
    Promise.resolve()
      .then(loadPaths)
      .then(
        (paths) => {
          match = compileRoutePatterns(paths);
        },
        () => undefined,
      );
  };
  load();
  return (c) => {
    const route = c.req.routePath;
    if (route !== FORWARDED_ROUTE) return route;
    load();
    return match?.(c.req.path) ?? UNMATCHED_API_ROUTE;
  };
}
