/**
 * The pipeline on a real Redis Cluster (three masters, three replicas, on
 * loopback; test/helpers/redis-cluster.ts), every service on ioredis Cluster
 * clients (REDIS_CLUSTER_NODES) with the hash-tagged prefix `{<id>}`:
 * - upload -> asset_processed on two sockets on two notifier replicas, once each;
 * - the admin queue view (workers found on every node) and ingest's queue metrics;
 * - the retry flow (a failed Asset retried through the API ends active);
 * - the gateway's rate limits answer 429;
 * - then the master serving the pipeline's slot is SIGKILLed while uploads
 *   flow: its replica takes over, and every accepted upload ends active with
 *   its event on both sockets (uploads refused with 503 meanwhile are counted
 *   apart; duplicates are counted and printed);
 * - session recovery on the promoted master: a socket whose replica is
 *   stopped (SIGTERM) resumes on the other and gets what it missed, once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Types } from "mongoose";
import { stopProcess, waitForHttp } from "../../scripts/lib/processes.ts";
import { getJson, postJson, submitUpload, upload } from "../helpers/api.ts";
import { productPhoto } from "../helpers/images.ts";
import { assetOf, eventsFor, waitForEvent, waitForStatus } from "../helpers/outcomes.ts";
import { type LocalRedisCluster, nodeCommand, startRedisCluster } from "../helpers/redis-cluster.ts";
import { connectRecording, countByAsset, eventually, type RecordingSocket } from "../helpers/sockets.ts";
import { type ServiceHandle, Stack } from "../helpers/stack.ts";
import { type TcpProxy, tcpProxy } from "../helpers/tcp-proxy.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";
import { type OpenAiStandIn, SAMPLE_METADATA, startOpenAiStandIn } from "../standins/openai.ts";

let cluster: LocalRedisCluster;
let ai: OpenAiStandIn;
let stack: Stack;
let notifiers: [ServiceHandle, ServiceHandle];
let photo: Uint8Array;
const open: RecordingSocket[] = [];

/** One socket of `token`'s user on each notifier replica. */
async function socketsOnBothReplicas(token: string): Promise<[RecordingSocket, RecordingSocket]> {
  const sockets = [await connectRecording(notifiers[0].url, token), await connectRecording(notifiers[1].url, token)] as [RecordingSocket, RecordingSocket];
  open.push(...sockets);
  return sockets;
}

beforeAll(async () => {
  [cluster, photo] = await Promise.all([startRedisCluster(), productPhoto({ format: "png" })]);
  ai = startOpenAiStandIn();
  stack = await Stack.start({
    redisCluster: cluster.nodeList,
    env: {
      ANALYZER: "openai",
      AI_BASE_URL: ai.url,
      JOB_BACKOFF_MS: "200",
      // A worker's job stranded by the failover is taken over within seconds.
      WORKER_LOCK_MS: "2000",
      WORKER_STALLED_INTERVAL_MS: "1000",
    },
  });
  await stack.add("notifier");
  notifiers = stack.services.filter((service) => service.name === "notifier") as [ServiceHandle, ServiceHandle];
}, 60_000);

afterAll(async () => {
  for (const socket of open) socket.close();
  await stack?.stop();
  await ai?.stop();
  await cluster?.stop();
});

describe("on a Redis Cluster", () => {
  test("every key of the pipeline is in the prefix's slot", async () => {
    expect(stack.prefix).toBe(`{${stack.id}}`);
    const port = await cluster.masterOf(stack.prefix);
    const keys = (await nodeCommand(port, "KEYS", `${stack.prefix}:*`)) as string[];
    // The queues (meta, markers) and the adapter's stream, written at start.
    expect(keys).toContain(`${stack.prefix}:socket.io`);
    expect(keys.some((key) => key.startsWith(`${stack.prefix}:ai-processing:`))).toBe(true);
    expect(keys.some((key) => key.startsWith(`${stack.prefix}:asset-outcomes:`))).toBe(true);
  });

  test("upload -> asset_processed on two sockets on two notifier replicas, once each", async () => {
    const token = await tokenFor(newUserId());
    const sockets = await socketsOnBothReplicas(token);
    const { assetId } = await submitUpload(stack.gatewayUrl, token, photo);
    for (const socket of sockets) await waitForEvent(socket, assetId);
    await Bun.sleep(500);
    for (const socket of sockets) {
      expect(eventsFor(socket, assetId)).toHaveLength(1);
      expect(eventsFor(socket, assetId)[0]).toMatchObject({ status: "active", aiMetadata: { brand: SAMPLE_METADATA.brand } });
    }
    expect((await assetOf(stack.gatewayUrl, token, assetId)).status).toBe("active");
  });

  test("operators' views read the queues on the cluster: /api/admin/queues (counts, workers on every node) and ingest's queue_jobs", async () => {
    const response = await getJson(stack.gatewayUrl, "/api/admin/queues", await tokenFor(newUserId(), { role: "admin" }));
    expect(response.status).toBe(200);
    const { queues } = (await response.json()) as { queues: { name: string; counts: Record<string, number>; workers: unknown[] }[] };
    expect(queues.map((q) => q.name)).toEqual(["ai-processing", "asset-outcomes", "webhook-deliveries"]);
    for (const q of queues) expect(q.workers.length, q.name).toBeGreaterThanOrEqual(1);
    expect(queues[0]!.counts.completed).toBeGreaterThanOrEqual(1);
    const metrics = await (await fetch(`${stack.get("ingest").url}/metrics`)).text();
    expect(metrics).toMatch(/^queue_jobs\{[^}]*queue="ai-processing"[^}]*state="completed"[^}]*\} [1-9]/m);
  });

  test("retry flow: a failed Asset retried through the API is processing, then active", async () => {
    const token = await tokenFor(newUserId());
    const sockets = await socketsOnBothReplicas(token);
    // A 401 is permanent: the job fails at its first attempt.
    ai.script({ kind: "error", status: 401 });
    const { assetId, jobId } = await submitUpload(stack.gatewayUrl, token, photo);
    await waitForStatus(stack.gatewayUrl, token, assetId, "failed");

    const response = await postJson(stack.gatewayUrl, `/api/assets/${assetId}/retry`, token);
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ assetId, jobId: `${jobId}-r1`, status: "processing" });
    await waitForStatus(stack.gatewayUrl, token, assetId, "active");
    await eventually(() => sockets.every((socket) => eventsFor(socket, assetId).length === 2), 10_000, "both outcomes on both sockets");
    for (const socket of sockets) expect(eventsFor(socket, assetId).map((event) => event.status)).toEqual(["failed", "active"]);
  });

  test("the gateway's rate limits answer 429, counted in the cluster", async () => {
    const limited = await stack.add("gateway", { RATE_LIMIT_PER_MINUTE: "3" });
    // Until its cluster client is ready, a gateway skips the limits (as it does with Redis down).
    await waitForHttp(`${limited.url}/readyz`, 10_000);
    // The four requests must fall in one fixed window (a minute).
    if (Date.now() % 60_000 > 58_000) await Bun.sleep(60_000 - (Date.now() % 60_000) + 10);
    const token = await tokenFor(newUserId());
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await getJson(limited.url, "/api/assets", token)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const counters = (await nodeCommand(await cluster.masterOf(stack.prefix), "KEYS", `${stack.prefix}:ratelimit:*`)) as string[];
    expect(counters.length).toBeGreaterThanOrEqual(1);
    await stopProcess(limited.proc);
  });

  test("failover: the master of the pipeline's slot is killed while uploads flow; its replica takes over and nothing accepted is lost", async () => {
    const user = newUserId();
    const token = await tokenFor(user);
    const sockets = await socketsOnBothReplicas(token);
    const killed = await cluster.masterOf(stack.prefix);

    const accepted: string[] = [];
    const refused: number[] = [];
    const uploads: Promise<void>[] = [];
    let slowestMs = 0;
    let promotion: Promise<{ port: number; afterMs: number }> | undefined;
    for (let i = 0; i < 20; i++) {
      if (i === 5) {
        const killedAt = Date.now();
        await cluster.kill(killed);
        promotion = cluster.waitUntilServed(stack.prefix).then((port) => ({ port, afterMs: Date.now() - killedAt }));
      }
      const sentAt = Date.now();
      uploads.push(
        upload(stack.gatewayUrl, token, { image: photo, category: "sneaker" }).then(async (response) => {
          slowestMs = Math.max(slowestMs, Date.now() - sentAt);
          if (response.status === 202) accepted.push(((await response.json()) as { assetId: string }).assetId);
          else refused.push(response.status);
        }),
      );
      await Bun.sleep(300);
    }
    await Promise.all(uploads);
    const { port: promoted, afterMs: promotedAfterMs } = await promotion!;

    // Every accepted upload ends active and reaches both sockets.
    for (const assetId of accepted) await waitForStatus(stack.gatewayUrl, token, assetId, "active", 30_000);
    await eventually(() => sockets.every((socket) => accepted.every((id) => eventsFor(socket, id).length > 0)), 20_000, "every event on both sockets");
    await Bun.sleep(750);

    const duplicates = sockets.map((socket) => [...countByAsset(socket.events)].filter(([, n]) => n > 1));
    const lost = sockets.map((socket) => accepted.filter((id) => eventsFor(socket, id).length === 0));
    console.log(
      `failover: master ${killed} killed, replica ${promoted} serving the slot ${promotedAfterMs} ms later; ` +
        `uploads accepted ${accepted.length}, refused ${refused.length} (${[...new Set(refused)].join(", ") || "none"}), slowest answer ${slowestMs} ms; ` +
        `duplicates per socket ${JSON.stringify(duplicates)}; lost per socket ${JSON.stringify(lost)}`,
    );
    expect(promoted).not.toBe(killed);
    expect(refused.every((status) => status === 503)).toBe(true);
    expect(accepted.length).toBeGreaterThanOrEqual(10);
    expect(lost).toEqual([[], []]);
    for (const socket of sockets) expect(socket.events.every((event) => event.status === "active")).toBe(true);
    // A refused upload's Asset was marked failed, never left processing.
    const processing = await (await stack.db()).collection("assets").countDocuments({ userId: new Types.ObjectId(user), status: "processing" });
    expect(processing).toBe(0);
  }, 60_000);

  test("session recovery on the promoted master: a socket whose replica stops resumes on the other and gets what it missed, once", async () => {
    const token = await tokenFor(newUserId());
    const balancer: TcpProxy = stack.onStop(tcpProxy(notifiers[0].port));
    const socket = await connectRecording(balancer.url, token, { reconnection: true, reconnectionDelay: 300 });
    open.push(socket);
    balancer.retarget(notifiers[1].port);
    const stopping = stopProcess(notifiers[0].proc, 10_000);
    await eventually(() => socket.disconnects.length === 1, 10_000, "the socket losing its replica");
    const { assetId } = await submitUpload(stack.gatewayUrl, token, photo);
    expect(await stopping).toBe(0);
    await waitForEvent(socket, assetId);
    await Bun.sleep(500);
    expect(socket.connects).toEqual([{ recovered: false }, { recovered: true }]);
    expect(eventsFor(socket, assetId)).toHaveLength(1);
    // Only the event after the drop: nothing from before it was replayed.
    expect(socket.events).toHaveLength(1);
  }, 30_000);
});
