/**
 * Hostile traffic at the gateway, over real processes: a 1 GB chunked upload,
 * slowloris, 2,000 idle keep-alive connections, oversized headers, malformed
 * and 10,000-part multipart bodies, lying Content-Lengths and CL+TE
 * smuggling attempts, and the three rate-limit budgets. Each ends in a 4xx (or
 * a dropped connection), never a 5xx, and the service keeps serving.
 * (Per-user limits across replicas: gateway-limits.test.ts; single bad
 * uploads and tokens: bad-requests.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { Types } from "mongoose";
import { getJson, upload } from "../helpers/api.ts";
import { productPhoto } from "../helpers/images.ts";
import { openIdleConnections, rawExchange, type TrickleResult, trickle } from "../helpers/raw-http.ts";
import { type ServiceHandle, Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";

const MiB = 1024 * 1024;
const UPSTREAM_TIMEOUT_MS = 5000;
let stack: Stack;
let gateway: ServiceHandle;
let png: Uint8Array;
const userId = newUserId();
let token: string;

beforeAll(async () => {
  // A short upstream timeout, so a body that never completes is answered (408) within seconds.
  stack = await Stack.start({ services: ["ingest", "gateway"], env: { UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS) } });
  gateway = stack.get("gateway");
  png = await productPhoto({ format: "png" });
  token = await tokenFor(userId);
});
afterAll(() => stack?.stop());

/** Resident memory of a process, in MiB (Linux /proc; elsewhere `ps`). */
async function rssMiB(pid: number): Promise<number> {
  if (existsSync(`/proc/${pid}/status`)) return Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)?.[1]) / 1024;
  const ps = Bun.spawn(["ps", "-o", "rss=", "-p", String(pid)], { stdout: "pipe" });
  return Number((await new Response(ps.stdout).text()).trim()) / 1024;
}

/** Samples the RSS of the gateway and ingest; `peak` is the largest seen per process. */
class RssWatch {
  readonly peak = { gateway: 0, ingest: 0 };
  readonly start = { gateway: 0, ingest: 0 };
  private timer: Timer | undefined;

  constructor(private readonly gatewayPid: number) {}

  async sample(): Promise<void> {
    for (const [name, pid] of [
      ["gateway", this.gatewayPid],
      ["ingest", stack.get("ingest").proc.pid],
    ] as const) {
      const rss = await rssMiB(pid);
      if (!this.start[name]) this.start[name] = rss;
      this.peak[name] = Math.max(this.peak[name], rss);
    }
  }
  every(ms: number): this {
    this.timer = setInterval(() => void this.sample(), ms);
    return this;
  }
  stop(): void {
    clearInterval(this.timer);
  }
  describe(): string {
    const f = (name: "gateway" | "ingest") => `${name} ${this.start[name].toFixed(0)} -> peak ${this.peak[name].toFixed(0)} MiB`;
    return `${f("gateway")}, ${f("ingest")}`;
  }
}

const authorized = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });

function multipart(boundary: string, parts: string[]): string {
  return parts.map((part) => `--${boundary}\r\n${part}\r\n`).join("") + `--${boundary}--\r\n`;
}

async function metricLines(service: ServiceHandle): Promise<string[]> {
  const metrics = await (await fetch(`${service.url}/metrics`)).text();
  return metrics.split("\n").filter((line) => line.startsWith("http_request_duration_seconds_count"));
}

async function expectError(response: Response, status: number, code: string, message?: RegExp): Promise<void> {
  expect(response.status).toBe(status);
  const body = await response.json();
  expect(body.error.code).toBe(code);
  if (message) expect(body.error.message).toMatch(message);
}

describe("body size", () => {
  test("a 1 GB chunked upload is refused with 413 soon after 10 MB, and the gateway's and ingest's RSS stay bounded", async () => {
    const watch = new RssWatch(gateway.proc.pid);
    await watch.sample();
    let sent = 0;
    const chunk = new Uint8Array(64 * 1024);
    const head = new TextEncoder().encode(`--b\r\nContent-Disposition: form-data; name="image"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n`);
    // Lazily generated: nothing near 1 GB is ever allocated; RSS is read every MiB sent.
    async function* oneGigabyte() {
      sent += head.length;
      yield head;
      while (sent < 1024 * MiB) {
        sent += chunk.length;
        yield chunk;
        if (sent % MiB < chunk.length) await watch.sample();
      }
    }
    const started = performance.now();
    const response = await fetch(`${stack.gatewayUrl}/api/assets/analyze-queue`, {
      method: "POST",
      headers: authorized({ "content-type": "multipart/form-data; boundary=b" }),
      body: oneGigabyte() as unknown as BodyInit,
    });
    const ms = Math.round(performance.now() - started);
    await watch.sample();
    // The gateway's JSON 413 at MAX_BODY_BYTES, or Bun's own (no body) at MAX_BODY_BYTES + 1 MiB when the client outruns ingest.
    const text = await response.text();
    const by = text ? "the gateway" : "Bun";
    console.log(`1 GB chunked upload: ${response.status} (from ${by}) after ${(sent / MiB).toFixed(1)} MiB sent, ${ms} ms; RSS ${watch.describe()}`);
    expect(response.status).toBe(413);
    if (text) expect(JSON.parse(text).error.code).toBe("payload_too_large");
    expect(sent).toBeGreaterThan(10 * MiB);
    expect(sent).toBeLessThan(64 * MiB);
    expect(watch.peak.gateway).toBeLessThan(300);
    expect(watch.peak.ingest).toBeLessThan(300);
  });

  test("a declared Content-Length of 1 GB is refused at once, before any body", async () => {
    const exchange = await rawExchange(
      gateway.port,
      `POST /api/assets/analyze-queue HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${1024 * MiB}\r\n\r\n`,
    );
    expect(exchange.responses[0]?.status).toBe(413);
  });
});

describe("headers", () => {
  test("headers over 16 KiB get 431 (Bun's limit), and the connection is closed", async () => {
    const exchange = await rawExchange(
      gateway.port,
      `GET /api/assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nX-Padding: ${"a".repeat(32 * 1024)}\r\n\r\n`,
    );
    expect(exchange.responses[0]?.status).toBe(431);
    expect(exchange.closedByServer).toBe(true);
    const many = Array.from({ length: 300 }, (_, i) => `X-Header-${i}: ${"b".repeat(64)}\r\n`).join("");
    expect((await rawExchange(gateway.port, `GET /healthz HTTP/1.1\r\nHost: x\r\n${many}\r\n`)).responses[0]?.status).toBe(431);
    // Just under the limit is served.
    const fits = await rawExchange(gateway.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ${"a".repeat(8 * 1024)}\r\n\r\n`);
    expect(fits.responses[0]?.status).toBe(200);
  });
});

describe("multipart", () => {
  const url = () => `${stack.gatewayUrl}/api/assets/analyze-queue`;
  const post = (contentType: string, body: BodyInit) => fetch(url(), { method: "POST", headers: authorized({ "content-type": contentType }), body });

  test("malformed multipart gets 400", async () => {
    await expectError(await post("multipart/form-data", "no boundary at all"), 400, "bad_request", /boundary/);
    await expectError(await post(`multipart/form-data; boundary=${"x".repeat(71)}`, "boundary too long"), 400, "bad_request", /boundary/);
    await expectError(await post("multipart/form-data; boundary=b", "not multipart at all"), 400, "bad_request", /multipart|boundary|FormData/i);
    const category = 'Content-Disposition: form-data; name="category"\r\n\r\nsneaker';
    await expectError(await post("multipart/form-data; boundary=b", `--b\r\n${category}\r\n`), 400, "bad_request", /boundary/);
    await expectError(await post("multipart/form-data; boundary=b", "--b\r\nsneaker\r\n--b--\r\n"), 400, "bad_request");
  });

  test("a multipart body with 10,000 parts is refused after its 17th delimiter, not parsed", async () => {
    const field = (i: number) => `Content-Disposition: form-data; name="field${i}"\r\n\r\nvalue`;
    const body = multipart(
      "b",
      Array.from({ length: 10_000 }, (_, i) => field(i)),
    );
    const started = performance.now();
    const response = await post("multipart/form-data; boundary=b", body);
    const ms = Math.round(performance.now() - started);
    console.log(`10,000-part multipart (${(body.length / 1024).toFixed(0)} KiB): ${response.status} in ${ms} ms`);
    await expectError(response, 400, "bad_request", /more than 16 parts/);
    expect(ms).toBeLessThan(5000);
    // The form's two fields and a few extra still go through to ingest, which judges them (here: 400 for the missing image).
    await expectError(
      await post("multipart/form-data; boundary=b", multipart("b", [field(1), 'Content-Disposition: form-data; name="category"\r\n\r\nsneaker'])),
      400,
      "bad_request",
      /image/,
    );
  });
});

describe("request smuggling and lying Content-Length", () => {
  const uploadHead = (lines: string) =>
    `POST /api/assets/analyze-queue HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: multipart/form-data; boundary=b\r\n${lines}\r\n`;
  const body = multipart("b", ['Content-Disposition: form-data; name="category"\r\n\r\nsneaker']);

  test("Content-Length together with Transfer-Encoding is refused (400, connection closed), in either order", async () => {
    const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    for (const headers of [
      `Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n`,
      `Transfer-Encoding: chunked\r\nContent-Length: ${body.length}\r\n`,
      `Content-Length: 4\r\nTransfer-Encoding: chunked\r\n`,
      `Transfer-Encoding: xchunked\r\n`,
      `Transfer-Encoding: chunked, identity\r\n`,
      `Content-Length: 5\r\nContent-Length: 6\r\n`,
      `Transfer-Encoding : chunked\r\nContent-Length: ${body.length}\r\n`,
    ]) {
      const exchange = await rawExchange(gateway.port, `${uploadHead(headers)}${chunked}`);
      expect({ headers, status: exchange.responses[0]?.status }).toEqual({ headers, status: 400 });
      expect(exchange.closedByServer).toBe(true);
    }
  });

  test("a repeated Content-Length (joined to '5, 5') is refused by the gateway", async () => {
    const exchange = await rawExchange(gateway.port, `${uploadHead(`Content-Length: ${body.length}\r\nContent-Length: ${body.length}\r\n`)}${body}`);
    expect(exchange.responses[0]?.status).toBe(400);
    expect(JSON.parse(exchange.responses[0]?.body ?? "{}").error.message).toMatch(/Content-Length/);
  });

  test("a Content-Length longer than the body: 408 once the upstream timeout passes", async () => {
    const exchange = await rawExchange(gateway.port, `${uploadHead(`Content-Length: ${body.length + 1000}\r\n`)}${body}`, {
      timeoutMs: UPSTREAM_TIMEOUT_MS + 15_000,
    });
    const response = exchange.responses[0];
    console.log(`Content-Length 1000 bytes too long: ${response?.status} after ${exchange.ms} ms`);
    expect(response?.status).toBe(408);
    expect(JSON.parse(response?.body ?? "{}").error.code).toBe("request_timeout");
  });

  test("a Content-Length shorter than the body: the surplus never becomes a request, nothing reaches ingest whole", async () => {
    const unauthorizedReads = async () => (await metricLines(gateway)).filter((line) => /method="GET",route="\/api\/assets",status="401"/.test(line)).join();
    const before = await unauthorizedReads();
    // The first request's body stops before its closing delimiter; what follows would be a second request, without a token.
    const smuggled = "GET /api/assets HTTP/1.1\r\nHost: x\r\n\r\n";
    const cut = body.length - 8;
    const exchange = await rawExchange(gateway.port, `${uploadHead(`Content-Length: ${cut}\r\n`)}${body.slice(0, cut)}${smuggled}`, { responses: 2 });
    const statuses = exchange.responses.map((response) => response.status);
    console.log(`Content-Length 8 bytes short, a request behind it: answers ${JSON.stringify(statuses)}, closed by the server: ${exchange.closedByServer}`);
    // Bun drops a connection whose next request arrives while the previous body is still being read; had the two
    // come apart, the surplus would be a request of its own, refused without a token. Either way: no 5xx, no upload.
    if (statuses.length === 0) expect(exchange.closedByServer).toBe(true);
    else expect(statuses).toEqual([400, 401]);
    await Bun.sleep(200);
    if (statuses.length === 0) expect(await unauthorizedReads()).toBe(before);
  });

  test("a Content-Length shorter than the body, the surplus sent a moment later: a request of its own, refused without a token", async () => {
    const cut = body.length - 8;
    const smuggled = "GET /api/assets HTTP/1.1\r\nHost: x\r\n\r\n";
    const exchange = await rawExchange(gateway.port, [`${uploadHead(`Content-Length: ${cut}\r\n`)}${body.slice(0, cut)}`, smuggled], {
      responses: 2,
      gapMs: 300,
    });
    // The first is ingest's 400 (its multipart body has no end); the second never got past authentication.
    expect(exchange.responses.map((response) => response.status)).toEqual([400, 401]);
  });
});

describe("connections", () => {
  test("slowloris: 200 connections sending headers a byte every 500 ms are dropped after the header timeout; others are served meanwhile", async () => {
    const slow = await stack.add("gateway", { IDLE_TIMEOUT_S: "2" });
    const watch = new RssWatch(slow.proc.pid).every(250);
    await watch.sample();
    const request = `GET /api/assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nX-Slow: ${"s".repeat(200)}\r\n\r\n`;
    const trickling = { intervalMs: 500, deadlineMs: 40_000 };
    // Half open with slow headers (Bun's fixed 10 s header timeout); half send one request whole, then slow
    // headers for the next on the kept-alive connection (IDLE_TIMEOUT_S, here 2 s).
    const fresh = Array.from({ length: 100 }, () => trickle(slow.port, request, trickling));
    const reused = Array.from({ length: 100 }, () => trickle(slow.port, request, { ...trickling, firstRequest: "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" }));
    // Meanwhile, ordinary clients on fresh connections.
    const ordinaryToken = await tokenFor(newUserId());
    const served: number[] = [];
    let attacking = true;
    const ordinary = (async () => {
      while (attacking) {
        const options = { keepalive: false } as const;
        served.push((await fetch(`${slow.url}/healthz`, options)).status);
        served.push((await fetch(`${slow.url}/api/assets`, { ...options, headers: { authorization: `Bearer ${ordinaryToken}` } })).status);
        await Bun.sleep(200);
      }
    })();
    const [first, second] = [await Promise.all(fresh), await Promise.all(reused)];
    attacking = false;
    await ordinary;
    watch.stop();
    await watch.sample();
    const range = (results: TrickleResult[]) => {
      const closed = results.map((result) => result.closedAfterMs ?? Number.POSITIVE_INFINITY);
      return { min: Math.min(...closed), max: Math.max(...closed), sent: Math.max(...results.map((result) => result.bytesSent)) };
    };
    const [a, b] = [range(first), range(second)];
    console.log(
      `slowloris: new connections closed after ${a.min}-${a.max} ms (${a.sent} header bytes sent at most), kept-alive ones after ${b.min}-${b.max} ms (${b.sent} bytes, IDLE_TIMEOUT_S=2); ${served.length} ordinary requests served meanwhile; RSS ${watch.describe()}`,
    );
    // Bun's timers tick every few seconds: generous bounds, far below the ~120 s these headers would take to finish.
    expect(a.max).toBeLessThan(20_000);
    expect(b.max).toBeLessThan(15_000);
    expect(first.every((result) => result.received === "" && result.bytesSent < request.length)).toBe(true);
    // The kept-alive ones got the answer to their first request, and nothing for the trickled one.
    expect(second.every((result) => result.received.split("HTTP/1.1 ").length === 2 && result.bytesSent < request.length)).toBe(true);
    expect(served.length).toBeGreaterThan(4);
    expect(served.every((status) => status === 200)).toBe(true);
    expect(watch.peak.gateway).toBeLessThan(300);
    expect(watch.peak.ingest).toBeLessThan(300);
  }, 60_000);

  test("2,000 idle keep-alive connections do not stop the service", async () => {
    const limits = readFileSync("/proc/self/limits", "utf8").match(/Max open files\s+(\d+)/);
    // Bun raises its soft limit to the hard one at start; the services inherit it.
    if (limits) expect(Number(limits[1])).toBeGreaterThan(2_200);
    const watch = new RssWatch(gateway.proc.pid);
    await watch.sample();
    // Half have made a request and wait on keep-alive; half have said nothing yet.
    const half = await openIdleConnections(gateway.port, 1000, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    const silent = await openIdleConnections(gateway.port, 1000);
    const fdDir = `/proc/${gateway.proc.pid}/fd`;
    const descriptors = () => (existsSync(fdDir) ? readdirSync(fdDir).length : Number.NaN);
    try {
      // Bun accepts a burst of connections over a second or two (the rest wait in the listen backlog): until it holds them all.
      const opening = performance.now();
      while (descriptors() < 2000 && performance.now() - opening < 8000) await Bun.sleep(100);
      await watch.sample();
      const started = performance.now();
      expect((await fetch(`${stack.gatewayUrl}/healthz`)).status).toBe(200);
      const accepted = await upload(stack.gatewayUrl, token, { image: png, category: "sneaker" });
      expect(accepted.status).toBe(202);
      const { assetId } = await accepted.json();
      expect((await getJson(stack.gatewayUrl, `/api/assets/${assetId}`, token)).status).toBe(200);
      await watch.sample();
      console.log(
        `2,000 idle connections: /healthz, an upload and a read served in ${Math.round(performance.now() - started)} ms while the gateway held ${descriptors()} file descriptors; RSS ${watch.describe()}`,
      );
      expect(gateway.proc.exitCode).toBeNull();
      // And they do not pile up: the gateway closes them itself (header timeout, IDLE_TIMEOUT_S, 10 s by default).
      const closing = performance.now();
      const closed = () => half.closedByServer() + silent.closedByServer();
      while (closed() < 2000 && performance.now() - closing < 25_000) await Bun.sleep(250);
      console.log(`2,000 idle connections: ${closed()} closed by the gateway ${Math.round(performance.now() - closing)} ms later`);
      expect(closed()).toBe(2000);
    } finally {
      for (const socket of [...half.sockets, ...silent.sockets]) socket.destroy();
    }
  }, 60_000);
});

describe("rate limits", () => {
  /** A new replica that counts: until its Redis connection is up, the limits are skipped (they fail open). */
  async function replica(env: Record<string, string>): Promise<ServiceHandle> {
    const handle = await stack.add("gateway", env);
    const deadline = Date.now() + 10_000;
    while ((await fetch(`${handle.url}/readyz`)).status !== 200 && Date.now() < deadline) await Bun.sleep(50);
    return handle;
  }

  /** The window is the clock minute: start well inside one. */
  async function freshMinute(): Promise<void> {
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 45_000) await Bun.sleep(60_000 - intoMinute + 100);
  }

  test("uploads and everything else have separate per-user budgets, with 429, Retry-After and RateLimit headers", async () => {
    // Its own key prefix: the counters start at zero whatever the other tests did.
    const limited = await replica({
      QUEUE_PREFIX: `${stack.id}.limits`,
      UPLOAD_RATE_LIMIT_PER_MINUTE: "3",
      RATE_LIMIT_PER_MINUTE: "5",
    });
    const user = await tokenFor(newUserId());
    await freshMinute();
    // Uploads that fail validation still spend the budget (it is counted before the body is read).
    const uploads: Response[] = [];
    for (let i = 0; i < 4; i++) uploads.push(await upload(limited.url, user, { category: "sneaker" }));
    expect(uploads.map((response) => response.status)).toEqual([400, 400, 400, 429]);
    expect(uploads[0]?.headers.get("ratelimit-limit")).toBe("3");
    const refused = uploads[3] as Response;
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.headers.get("ratelimit-remaining")).toBe("0");
    await expectError(refused, 429, "rate_limited", /uploads/);
    // Reads are untouched by the spent upload budget, and have their own.
    const reads: number[] = [];
    for (let i = 0; i < 6; i++) reads.push((await getJson(limited.url, "/api/assets", user)).status);
    expect(reads).toEqual([200, 200, 200, 200, 200, 429]);
    const read = await getJson(limited.url, "/api/assets", user);
    expect(read.headers.get("ratelimit-limit")).toBe("5");
    expect(Number(read.headers.get("retry-after"))).toBeGreaterThan(0);
    // Another user has full budgets.
    expect((await getJson(limited.url, "/api/assets", await tokenFor(newUserId()))).status).toBe(200);
    // Each counter expires with its window (set once, when the window opened), so none outlives it.
    const counters = await stack.redis().keys(`${stack.id}.limits:ratelimit:*`);
    expect(counters.length).toBeGreaterThanOrEqual(3);
    for (const key of counters) expect(await stack.redis().pttl(key)).toBeWithin(1, 60_001);
  });

  test("requests without a valid token are limited per client IP; a valid token is not held back by it", async () => {
    const limited = await replica({ QUEUE_PREFIX: `${stack.id}.ip`, IP_RATE_LIMIT_PER_MINUTE: "4" });
    await freshMinute();
    const bad = ["", "Bearer nonsense", `Bearer ${await tokenFor(newUserId(), { expiresInS: -60 })}`, "Basic Zm9vOmJhcg==", "Bearer x.y.z"];
    const statuses: number[] = [];
    for (const header of bad) statuses.push((await fetch(`${limited.url}/api/assets`, { headers: header ? { authorization: header } : {} })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    const flood = await fetch(`${limited.url}/api/assets`, { headers: { authorization: "Bearer another-bad-one" } });
    expect(Number(flood.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(flood.headers.get("ratelimit-limit")).toBe("4");
    await expectError(flood, 429, "rate_limited", /without a valid token/);
    // X-Forwarded-For is not believed without TRUST_PROXY_HOPS: a new one buys nothing.
    expect((await fetch(`${limited.url}/api/assets`, { headers: { "x-forwarded-for": "198.51.100.9" } })).status).toBe(429);
    expect((await getJson(limited.url, "/api/assets", token)).status).toBe(200);
  });

  test("behind TRUST_PROXY_HOPS=1 the client IP is the last X-Forwarded-For entry", async () => {
    const proxied = await replica({ QUEUE_PREFIX: `${stack.id}.proxied`, IP_RATE_LIMIT_PER_MINUTE: "2", TRUST_PROXY_HOPS: "1" });
    await freshMinute();
    const from = async (forwardedFor: string) => (await fetch(`${proxied.url}/api/assets`, { headers: { "x-forwarded-for": forwardedFor } })).status;
    // The client wrote the first entry itself; our proxy appended the address it saw.
    expect([await from("1.2.3.4, 203.0.113.7"), await from("5.6.7.8, 203.0.113.7"), await from("203.0.113.7")]).toEqual([401, 401, 429]);
    expect(await from("203.0.113.8")).toBe(401);
  });
});

describe("afterwards", () => {
  test("nothing was lost: an upload is accepted and stored, and no service answered a 5xx", async () => {
    const accepted = await upload(stack.gatewayUrl, token, { image: png, category: "lego" });
    expect(accepted.status).toBe(202);
    const { assetId } = await accepted.json();
    const db = await stack.db();
    expect(await db.collection("assets").countDocuments({ _id: new Types.ObjectId(assetId), userId: new Types.ObjectId(userId) })).toBe(1);
    for (const service of stack.services.filter((s) => s.proc.exitCode === null)) {
      // (/readyz is 503 by design while a fresh replica connects to Redis: the replicas above waited on it.)
      const serverErrors = (await metricLines(service)).filter((line) => /status="5\d\d"/.test(line) && !line.includes('route="/readyz"'));
      expect({ service: service.name, serverErrors }).toEqual({ service: service.name, serverErrors: [] });
    }
  });
});
