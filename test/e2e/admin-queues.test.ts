/**
 * The queue dashboard and queue control, over a real stack: the admin session cookie
 * (flags, who gets one, where it is accepted), Bull Board at /admin/queues through the
 * gateway (admins only, read-only, every asset served locally), and the admin API:
 * counts and workers per queue, pause and resume, bulk retry of failed jobs through
 * their Assets, and BullMQ's global concurrency. The AI analyzer is the OpenAI stand-in,
 * scripted per test; JOB_ATTEMPTS=1 so a scripted error fails a job at once.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PIPELINE_QUEUES, type QueueStatus } from "@pipeline/contracts/admin";
import type { JobData } from "@pipeline/contracts/jobs";
import { AI_QUEUE, runIdFor } from "@pipeline/messaging";
import { InternalTokenSigner, internalSecret } from "@pipeline/runtime/auth";
import { Queue } from "bullmq";
import { AdminSessions } from "../../services/gateway/src/routes/admin-session.ts";
import { getJson, postJson, submitUpload } from "../helpers/api.ts";
import { productPhoto } from "../helpers/images.ts";
import { assetOf, waitForStatus } from "../helpers/outcomes.ts";
import { eventually } from "../helpers/sockets.ts";
import { Stack, TEST_JWT_SECRET } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";
import { jsonReply, type OpenAiStandIn, SAMPLE_METADATA, startOpenAiStandIn } from "../standins/openai.ts";

let stack: Stack;
let ai: OpenAiStandIn;
let queue: Queue<JobData>;
let adminToken: string;
let userToken: string;
let photo: Uint8Array;

beforeAll(async () => {
  ai = startOpenAiStandIn({ apiKey: "test-key" });
  stack = await Stack.start({
    env: {
      ANALYZER: "openai",
      AI_BASE_URL: ai.url,
      AI_API_KEY: "test-key",
      AI_MODEL: "stand-in-vision",
      JOB_ATTEMPTS: "1",
      WORKER_CONCURRENCY: "2",
      // The tests poll Assets and queues often, as one user and one admin.
      RATE_LIMIT_PER_MINUTE: "100000",
      UPLOAD_RATE_LIMIT_PER_MINUTE: "100000",
    },
  });
  stack.onStop(ai);
  queue = stack.onStop(new Queue<JobData>(AI_QUEUE, { connection: stack.redis(), prefix: stack.id }));
  adminToken = await tokenFor(newUserId(), { role: "admin" });
  userToken = await tokenFor(newUserId());
  photo = await productPhoto({ format: "png" });
}, 60_000);
afterAll(() => stack?.stop());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const gateway = (path: string, init: RequestInit = {}) => fetch(`${stack.gatewayUrl}${path}`, { redirect: "manual", ...init });

/** POST /api/admin/session with an admin's bearer; the answer and the `name=value` pair to send back. */
async function openSession(token = adminToken) {
  const response = await gateway("/api/admin/session", { method: "POST", headers: bearer(token) });
  const setCookie = response.headers.get("set-cookie") ?? "";
  return { response, setCookie, cookie: setCookie.split(";")[0] ?? "" };
}

async function queueStatus(name: string): Promise<QueueStatus> {
  const response = await getJson(stack.gatewayUrl, "/api/admin/queues", adminToken);
  expect(response.status).toBe(200);
  const { queues } = (await response.json()) as { queues: QueueStatus[] };
  const found = queues.find((q) => q.name === name);
  if (!found) throw new Error(`no queue ${name} in ${JSON.stringify(queues)}`);
  return found;
}

async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
}

describe("the admin session", () => {
  test("an admin's bearer gets a short-lived HttpOnly, SameSite=Strict cookie scoped to /admin", async () => {
    const { response, setCookie } = await openSession();
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const { expiresAt } = (await response.json()) as { expiresAt: string };
    const lifetimeS = (Date.parse(expiresAt) - Date.now()) / 1000;
    expect(lifetimeS).toBeGreaterThan(800);
    expect(lifetimeS).toBeLessThanOrEqual(900);
    expect(setCookie).toMatch(/^admin_session=ey[\w-]+\.[\w-]+\.[\w-]+;/);
    const flags = setCookie.split(/;\s*/).slice(1);
    expect(flags).toContain("HttpOnly");
    expect(flags).toContain("SameSite=Strict");
    expect(flags).toContain("Path=/admin");
    expect(flags).toContain("Max-Age=900");
    expect(flags).not.toContain("Secure"); // PUBLIC_URL is http here
  });

  test("the cookie never outlives the bearer token it was made from", async () => {
    const { setCookie } = await openSession(await tokenFor(newUserId(), { role: "admin", expiresInS: 60 }));
    const maxAge = Number(/Max-Age=(\d+)/.exec(setCookie)?.[1]);
    expect(maxAge).toBeGreaterThan(50);
    expect(maxAge).toBeLessThanOrEqual(60);
  });

  test("a user's token gets 403, no token or a bad one 401, and none of them a cookie", async () => {
    const asUser = await openSession(userToken);
    await expectError(asUser.response, 403, "forbidden");
    const anonymous = await gateway("/api/admin/session", { method: "POST" });
    await expectError(anonymous, 401, "unauthorized");
    const forged = await openSession(await tokenFor(newUserId(), { role: "admin", secret: "another-secret-0123456789" }));
    await expectError(forged.response, 401, "unauthorized");
    for (const answer of [asUser.response, anonymous, forged.response]) expect(answer.headers.get("set-cookie")).toBeNull();
  });

  test("Secure is added when PUBLIC_URL is https", async () => {
    const tls = await stack.add("gateway", { PUBLIC_URL: "https://pipeline.example.test" });
    const response = await fetch(`${tls.url}/api/admin/session`, { method: "POST", headers: bearer(adminToken) });
    expect(response.status).toBe(200);
    expect((response.headers.get("set-cookie") ?? "").split(/;\s*/)).toContain("Secure");
  });

  test("DELETE /api/admin/session clears the cookie", async () => {
    const response = await gateway("/api/admin/session", { method: "DELETE", headers: bearer(adminToken) });
    expect(response.status).toBe(204);
    const setCookie = response.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/^admin_session=;/);
    expect(setCookie).toContain("Max-Age=0");
    expect(setCookie).toContain("Path=/admin");
  });
});

describe("the dashboard at /admin/queues", () => {
  test("opens with the session cookie or an admin's bearer; 401 without, 403 for a user", async () => {
    const { cookie } = await openSession();
    const page = await gateway("/admin/queues", { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toStartWith("text/html");
    expect(await page.text()).toContain("<title>Pipeline queues</title>");
    expect((await gateway("/admin/queues", { headers: bearer(adminToken) })).status).toBe(200);
    // A deep link is the same page; a trailing slash is sent, relatively, to the page.
    expect((await gateway(`/admin/queues/queue/${AI_QUEUE}`, { headers: { cookie } })).status).toBe(200);
    const slash = await gateway("/admin/queues/", { headers: { cookie } });
    expect(slash.status).toBe(308);
    expect(slash.headers.get("location")).toBe("/admin/queues");

    await expectError(await gateway("/admin/queues"), 401, "unauthorized");
    await expectError(await gateway("/admin/queues/api/queues"), 401, "unauthorized");
    await expectError(await gateway("/admin/queues", { headers: bearer(userToken) }), 403, "forbidden");
    await expectError(await gateway("/admin/queues", { headers: { cookie: "admin_session=not-a-token" } }), 401, "unauthorized");
  });

  test("the cookie is its own kind of token: no API token passes as a cookie, and the cookie passes nowhere but /admin", async () => {
    const { cookie } = await openSession();
    const sessionToken = cookie.slice("admin_session=".length);
    // An admin's API token sent as the cookie.
    await expectError(await gateway("/admin/queues", { headers: { cookie: `admin_session=${adminToken}` } }), 401, "unauthorized");
    // The cookie on /api: ignored (no bearer: 401), and refused as a bearer.
    await expectError(await gateway("/api/admin/queues", { headers: { cookie } }), 401, "unauthorized");
    await expectError(await gateway("/api/assets", { headers: bearer(sessionToken) }), 401, "unauthorized");
    await expectError(await gateway("/api/admin/session", { method: "POST", headers: bearer(sessionToken) }), 401, "unauthorized");
    // An expired session.
    const sessions = new AdminSessions(TEST_JWT_SECRET, stack.env.PUBLIC_URL);
    const longAgo = Math.floor(Date.now() / 1000) - 3600;
    const { token: expired } = await sessions.issue({ userId: newUserId(), isAdmin: true, exp: longAgo + 7200 }, longAgo);
    const refused = await gateway("/admin/queues", { headers: { cookie: `admin_session=${expired}` } });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("expired");
  });

  test("ingest serves it only to the gateway, and only for an admin", async () => {
    const ingest = stack.get("ingest").url;
    await expectError(await fetch(`${ingest}/admin/queues`), 401, "unauthorized");
    await expectError(await fetch(`${ingest}/admin/queues`, { headers: bearer(adminToken) }), 401, "unauthorized");
    const signer = new InternalTokenSigner(await internalSecret(TEST_JWT_SECRET));
    const asUser = await signer.tokenFor({ userId: newUserId(), isAdmin: false, exp: 0 });
    await expectError(await fetch(`${ingest}/admin/queues`, { headers: bearer(asUser) }), 403, "forbidden");
    const asAdmin = await signer.tokenFor({ userId: newUserId(), isAdmin: true, exp: 0 });
    expect((await fetch(`${ingest}/admin/queues`, { headers: bearer(asAdmin) })).status).toBe(200);
  });

  test("its page and every script, style and icon it references come from the gateway; nothing names another host", async () => {
    const { cookie } = await openSession();
    const page = await gateway("/admin/queues", { headers: { cookie } });
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const html = await page.text();
    const references = [...html.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string);
    expect(references.filter((ref) => /^(https?:)?\/\//i.test(ref))).toEqual([]);
    expect(html).not.toMatch(/https?:\/\//);
    const assets = references.filter((ref) => ref.startsWith("static/"));
    expect(assets.filter((ref) => ref.endsWith(".js")).length).toBeGreaterThan(0);
    expect(assets.filter((ref) => ref.endsWith(".css")).length).toBeGreaterThan(0);
    const base = `${stack.gatewayUrl}/admin/queues/`; // the page's <base href>
    expect(html).toContain('<base href="/admin/queues/"');
    for (const ref of assets) {
      const asset = await fetch(new URL(ref, base), { headers: { cookie } });
      expect(asset.status, ref).toBe(200);
      const body = await asset.text();
      expect(body.length, ref).toBeGreaterThan(0);
      // Stylesheets pull in nothing from elsewhere (no @import or url() of another host).
      if (ref.endsWith(".css")) expect(body, ref).not.toMatch(/(@import|url\()\s*["']?(https?:)?\/\//i);
    }
  });

  test("is read-only: every queue reports readOnlyMode, and its retry, remove, clean and pause actions are refused", async () => {
    await postJson(stack.gatewayUrl, `/api/admin/queues/${AI_QUEUE}/pause`, adminToken);
    const { assetId, jobId } = await submitUpload(stack.gatewayUrl, userToken, photo);
    try {
      const { cookie } = await openSession();
      const board = await gateway(`/admin/queues/api/queues?activeQueue=${AI_QUEUE}&status=prioritized`, { headers: { cookie } });
      expect(board.status).toBe(200);
      const { queues } = (await board.json()) as { queues: { name: string; readOnlyMode: boolean; allowRetries: boolean; jobs: { id: string }[] }[] };
      expect(queues.map((q) => q.name).sort()).toEqual([...PIPELINE_QUEUES].sort());
      for (const q of queues) expect(q).toMatchObject({ readOnlyMode: true, allowRetries: false });
      expect(queues.find((q) => q.name === AI_QUEUE)?.jobs.map((job) => job.id)).toContain(jobId);

      const actions: [string, string][] = [
        ["PUT", `/admin/queues/api/queues/${AI_QUEUE}/${jobId}/clean`],
        ["PUT", `/admin/queues/api/queues/${AI_QUEUE}/${jobId}/retry`],
        ["PUT", `/admin/queues/api/queues/${AI_QUEUE}/retry/failed`],
        ["PUT", `/admin/queues/api/queues/${AI_QUEUE}/clean/waiting`],
        ["PUT", `/admin/queues/api/queues/${AI_QUEUE}/empty`],
        ["PUT", `/admin/queues/api/queues/${AI_QUEUE}/resume`],
        ["PUT", "/admin/queues/api/queues/resume"],
        ["POST", `/admin/queues/api/queues/${AI_QUEUE}/add`],
      ];
      for (const [method, path] of actions) {
        const refused = await gateway(path, { method, headers: { cookie, "content-type": "application/json" }, body: "{}" });
        expect(refused.status, `${method} ${path}`).toBe(405);
      }
      // The waiting job is still there, its Asset still processing, and the queue still paused.
      // Waiting with its fair-share priority: BullMQ calls that state "prioritized".
      expect(await queue.getJobState(jobId)).toBe("prioritized");
      expect((await assetOf(stack.gatewayUrl, userToken, assetId)).status).toBe("processing");
      expect((await queueStatus(AI_QUEUE)).paused).toBe(true);
    } finally {
      await postJson(stack.gatewayUrl, `/api/admin/queues/${AI_QUEUE}/resume`, adminToken);
    }
    await waitForStatus(stack.gatewayUrl, userToken, assetId, "active");
  }, 30_000);
});

describe("queue control through the API", () => {
  test("admin only: 403 for a user, 401 without a token, on every route", async () => {
    const routes: [string, string, unknown?][] = [
      ["GET", "/api/admin/queues"],
      ["POST", `/api/admin/queues/${AI_QUEUE}/pause`],
      ["POST", `/api/admin/queues/${AI_QUEUE}/resume`],
      ["PUT", `/api/admin/queues/${AI_QUEUE}/concurrency`, { concurrency: 1 }],
      ["POST", "/api/admin/jobs/retry-failed"],
    ];
    for (const [method, path, body] of routes) {
      const init = { method, body: body === undefined ? undefined : JSON.stringify(body) };
      await expectError(await gateway(path, { ...init, headers: { ...bearer(userToken), "content-type": "application/json" } }), 403, "forbidden");
      await expectError(await gateway(path, { ...init, headers: { "content-type": "application/json" } }), 401, "unauthorized");
    }
    expect((await queueStatus(AI_QUEUE)).paused).toBe(false);
    expect((await queueStatus(AI_QUEUE)).globalConcurrency).toBeNull();
  });

  test("they are in the OpenAPI document, tagged admin", async () => {
    const doc = (await (await gateway("/api/openapi.json")).json()) as { paths: Record<string, Record<string, { operationId: string; tags: string[] }>> };
    const operations = [
      ["/api/admin/queues", "get", "listQueues"],
      ["/api/admin/queues/{name}/pause", "post", "pauseQueue"],
      ["/api/admin/queues/{name}/resume", "post", "resumeQueue"],
      ["/api/admin/queues/{name}/concurrency", "put", "setQueueConcurrency"],
      ["/api/admin/jobs/retry-failed", "post", "retryFailedJobs"],
    ] as const;
    for (const [path, method, operationId] of operations) expect(doc.paths[path]?.[method]).toMatchObject({ operationId, tags: ["admin"] });
  });

  test("GET /api/admin/queues: counts per state and the connected workers of every queue", async () => {
    const { assetId } = await submitUpload(stack.gatewayUrl, userToken, photo);
    await waitForStatus(stack.gatewayUrl, userToken, assetId, "active");
    const response = await getJson(stack.gatewayUrl, "/api/admin/queues", adminToken);
    expect(response.status).toBe(200);
    const { queues } = (await response.json()) as { queues: QueueStatus[] };
    expect(queues.map((q) => q.name)).toEqual([...PIPELINE_QUEUES]);
    for (const q of queues) {
      expect(Object.keys(q.counts).sort()).toEqual(["active", "completed", "delayed", "failed", "paused", "prioritized", "waiting", "waiting-children"]);
      // ai-processing: the ai-worker; the other two: the notifier.
      expect(q.workers.length, q.name).toBeGreaterThanOrEqual(1);
      for (const worker of q.workers) expect(worker.addr).toMatch(/^127\.0\.0\.1:\d+$/);
    }
    const aiQueue = queues.find((q) => q.name === AI_QUEUE)!;
    expect(aiQueue.counts.completed).toBeGreaterThanOrEqual(1);
    // (Completed outcomes are removed at once, so asset-outcomes counts none.)
    // The worker is gone: the list says so.
    const extra = await stack.add("ai-worker");
    await eventually(async () => (await queueStatus(AI_QUEUE)).workers.length === aiQueue.workers.length + 1, 10_000, "a second ai-worker");
    extra.proc.kill("SIGTERM");
    await extra.proc.exited;
    await eventually(async () => (await queueStatus(AI_QUEUE)).workers.length === aiQueue.workers.length, 10_000, "the second ai-worker gone");
  }, 60_000);

  test("pause stops the ai-worker taking jobs (an upload stays waiting); resume lets it finish", async () => {
    const paused = await postJson(stack.gatewayUrl, `/api/admin/queues/${AI_QUEUE}/pause`, adminToken);
    expect(paused.status).toBe(200);
    expect(((await paused.json()) as QueueStatus).paused).toBe(true);
    try {
      const { assetId, jobId } = await submitUpload(stack.gatewayUrl, userToken, photo);
      await Bun.sleep(1500);
      // Waiting with its fair-share priority: BullMQ calls that state "prioritized".
      expect(await queue.getJobState(jobId)).toBe("prioritized");
      expect((await assetOf(stack.gatewayUrl, userToken, assetId)).status).toBe("processing");
      const status = await queueStatus(AI_QUEUE);
      expect(status.paused).toBe(true);
      expect(status.counts.prioritized).toBeGreaterThanOrEqual(1);

      const resumed = await postJson(stack.gatewayUrl, `/api/admin/queues/${AI_QUEUE}/resume`, adminToken);
      expect(resumed.status).toBe(200);
      expect(((await resumed.json()) as QueueStatus).paused).toBe(false);
      await waitForStatus(stack.gatewayUrl, userToken, assetId, "active");
    } finally {
      await postJson(stack.gatewayUrl, `/api/admin/queues/${AI_QUEUE}/resume`, adminToken);
    }
  }, 60_000);

  test("an unknown queue is 404 for pause, resume, concurrency and retry-failed", async () => {
    await expectError(await postJson(stack.gatewayUrl, "/api/admin/queues/no-such-queue/pause", adminToken), 404, "not_found");
    await expectError(await postJson(stack.gatewayUrl, "/api/admin/queues/no-such-queue/resume", adminToken), 404, "not_found");
    const concurrency = await gateway("/api/admin/queues/no-such-queue/concurrency", {
      method: "PUT",
      headers: { ...bearer(adminToken), "content-type": "application/json" },
      body: JSON.stringify({ concurrency: 1 }),
    });
    await expectError(concurrency, 404, "not_found");
    await expectError(await postJson(stack.gatewayUrl, "/api/admin/jobs/retry-failed?queue=no-such-queue", adminToken), 404, "not_found");
  });

  test("setGlobalConcurrency: a cap of 1 shows in GET and the worker (concurrency 2) then runs one job at a time; null lifts it", async () => {
    const setConcurrency = (concurrency: number | null | string) =>
      gateway(`/api/admin/queues/${AI_QUEUE}/concurrency`, {
        method: "PUT",
        headers: { ...bearer(adminToken), "content-type": "application/json" },
        body: JSON.stringify({ concurrency }),
      });
    await expectError(await setConcurrency(0), 400, "bad_request");
    await expectError(await setConcurrency("many"), 400, "bad_request");
    const capped = await setConcurrency(1);
    expect(capped.status).toBe(200);
    expect(((await capped.json()) as QueueStatus).globalConcurrency).toBe(1);
    expect((await queueStatus(AI_QUEUE)).globalConcurrency).toBe(1);

    const SLOW_MS = 1500;
    const runTwo = async () => {
      ai.requests.length = 0;
      ai.script(jsonReply(SAMPLE_METADATA, SLOW_MS), jsonReply(SAMPLE_METADATA, SLOW_MS));
      const runs = await Promise.all([submitUpload(stack.gatewayUrl, userToken, photo), submitUpload(stack.gatewayUrl, userToken, photo)]);
      for (const { assetId } of runs) await waitForStatus(stack.gatewayUrl, userToken, assetId, "active");
      const [first, second] = ai.requests.map((request) => request.receivedAt).sort((a, b) => a - b) as [number, number];
      return second - first;
    };
    // One at a time: the second analysis starts only after the first one's answer.
    expect(await runTwo()).toBeGreaterThanOrEqual(SLOW_MS - 50);

    const lifted = await setConcurrency(null);
    expect(lifted.status).toBe(200);
    expect(((await lifted.json()) as QueueStatus).globalConcurrency).toBeNull();
    // Without the cap the worker's own concurrency (2) runs both at once.
    expect(await runTwo()).toBeLessThan(SLOW_MS - 50);
  }, 90_000);

  test("retry-failed: failed Assets go back to processing through the state machine and end active; bounded, counting what it did", async () => {
    const failures = 3;
    ai.script(...Array.from({ length: failures }, () => ({ kind: "error" as const, status: 400, message: "scripted refusal" })));
    const assets: string[] = [];
    for (let i = 0; i < failures; i++) assets.push((await submitUpload(stack.gatewayUrl, userToken, photo)).assetId);
    for (const assetId of assets) await waitForStatus(stack.gatewayUrl, userToken, assetId, "failed");
    expect((await queueStatus(AI_QUEUE)).counts.failed).toBe(failures);

    // A bounded first pass: two of the three.
    const first = await postJson(stack.gatewayUrl, "/api/admin/jobs/retry-failed?limit=2", adminToken);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ retried: 2, skipped: 0, remaining: 1 });
    const reopened = [];
    for (const assetId of assets) {
      const asset = await assetOf(stack.gatewayUrl, userToken, assetId);
      if (asset.status !== "failed") reopened.push(assetId);
    }
    expect(reopened).toHaveLength(2);
    // The rest.
    const second = await postJson(stack.gatewayUrl, "/api/admin/jobs/retry-failed", adminToken);
    expect(await second.json()).toEqual({ retried: 1, skipped: 0, remaining: 0 });
    for (const assetId of assets) {
      const asset = await waitForStatus(stack.gatewayUrl, userToken, assetId, "active");
      // A new run under a new job id, as a retry through the Asset gives it; the failed run's job is gone.
      expect(asset.processingJobId).toBe(runIdFor(assetId, assetId));
      expect(await queue.getJob(assetId)).toBeUndefined();
    }
    expect((await queueStatus(AI_QUEUE)).counts.failed).toBe(0);
  }, 90_000);

  test("retry-failed skips a failed AI job that has no failed Asset to reopen, and says it is still there", async () => {
    // Job data no Asset stands behind: the worker fails it at once, and retrying it as it is would fail again.
    await queue.add("analyze-asset", { bogus: true } as never, { jobId: "not-an-asset-run", attempts: 1 });
    await eventually(async () => (await queue.getJobState("not-an-asset-run")) === "failed", 15_000, "the bogus job to fail");
    const response = await postJson(stack.gatewayUrl, `/api/admin/jobs/retry-failed?queue=${AI_QUEUE}`, adminToken);
    expect(await response.json()).toEqual({ retried: 0, skipped: 1, remaining: 1 });
    expect(await queue.getJobState("not-an-asset-run")).toBe("failed");
    await expectError(await postJson(stack.gatewayUrl, "/api/admin/jobs/retry-failed?limit=1001", adminToken), 400, "bad_request");
    await expectError(await postJson(stack.gatewayUrl, "/api/admin/jobs/retry-failed?limit=0", adminToken), 400, "bad_request");
  }, 30_000);
});
