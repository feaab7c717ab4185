/**
 * Notifier restarts and outages, over real processes: a loopback
 * TCP proxy stands in for the load balancer in front of the replicas.
 * - SIGTERM on the replica a socket is on: the socket resumes on another
 *   replica (recovered) and gets what was emitted meanwhile, exactly once.
 * - With no notifier running, outcomes wait in BullMQ and are delivered once
 *   one is back.
 * - SIGTERM while outcomes are flowing: the replica stops taking them, hands
 *   back what it has not started, exits 0; nothing is lost or doubled.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { stopProcess } from "../../scripts/lib/processes.ts";
import { OutcomeInjector } from "../helpers/outcomes.ts";
import { connectRecording, countByAsset, eventually, type RecordingSocket } from "../helpers/sockets.ts";
import { type ServiceHandle, Stack } from "../helpers/stack.ts";
import { type TcpProxy, tcpProxy } from "../helpers/tcp-proxy.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";

let stack: Stack;
let outcomes: OutcomeInjector;
let balancer: TcpProxy;
const open: RecordingSocket[] = [];
const user = newUserId();
let token: string;
/** The user's socket behind the load balancer; it reconnects every 500 ms when dropped. */
let behindBalancer: RecordingSocket;

async function connect(...args: Parameters<typeof connectRecording>): Promise<RecordingSocket> {
  const socket = await connectRecording(...args);
  open.push(socket);
  return socket;
}

beforeAll(async () => {
  stack = await Stack.start({ services: ["notifier"] });
  await stack.add("notifier");
  outcomes = new OutcomeInjector(stack.redis(), stack.id);
  balancer = tcpProxy(stack.services[0]!.port);
  token = await tokenFor(user);
  behindBalancer = await connect(balancer.url, token, { reconnection: true, reconnectionDelay: 500 });
}, 30_000);

afterAll(async () => {
  for (const socket of open) socket.close();
  balancer?.close();
  await outcomes?.close();
  await stack?.stop();
});

describe("notifier restarts", () => {
  test("SIGTERM on the socket's replica: it exits 0, the socket resumes on the other replica and gets what was emitted meanwhile, once", async () => {
    const [first, second] = stack.services as [ServiceHandle, ServiceHandle];
    const before = await outcomes.publish(user, 2);
    await eventually(() => behindBalancer.events.length === 2, 10_000, "events before the restart");

    // The balancer sends new connections to the replica that stays.
    balancer.retarget(second.port);
    const stopping = stopProcess(first.proc, 10_000);
    await eventually(() => behindBalancer.disconnects.length === 1, 10_000, "the socket losing its replica");
    const during = await outcomes.publish(user, 4);
    expect(await stopping).toBe(0);

    await eventually(() => behindBalancer.connects.length === 2 && behindBalancer.events.length >= 6, 10_000, "resumption on the other replica");
    await Bun.sleep(500);
    expect(behindBalancer.connects).toEqual([{ recovered: false }, { recovered: true }]);
    expect(countByAsset(behindBalancer.events)).toEqual(new Map([...before, ...during].map((p) => [p.assetId, 1])));
  }, 30_000);

  test("outcomes produced while no notifier runs wait in BullMQ and are delivered once one is back", async () => {
    const last = stack.find("notifier")!;
    const seen = behindBalancer.events.length;
    expect(await stopProcess(last.proc, 10_000)).toBe(0);
    expect(stack.find("notifier")).toBeUndefined();

    const during = await outcomes.publish(user, 5);
    await Bun.sleep(300);
    expect(await outcomes.publisher.queue.getJobCounts("waiting")).toMatchObject({ waiting: 5 });

    const back = await stack.add("notifier");
    balancer.retarget(back.port);
    await eventually(() => behindBalancer.events.length >= seen + 5, 15_000, "the queued outcomes");
    await Bun.sleep(500);
    expect(countByAsset(behindBalancer.events.slice(seen))).toEqual(new Map(during.map((p) => [p.assetId, 1])));
    // The session saved at shutdown was resumed within the recovery window.
    expect(behindBalancer.connects.at(-1)).toEqual({ recovered: true });
    expect(await outcomes.publisher.queue.getJobCounts("waiting", "active", "failed")).toMatchObject({ waiting: 0, active: 0, failed: 0 });
  }, 30_000);

  test("SIGTERM while outcomes are flowing: the replica stops taking them, exits 0, and every outcome is delivered exactly once", async () => {
    const leaving = stack.find("notifier")!;
    const staying = await stack.add("notifier");
    const other = newUserId();
    const watcher = await connect(staying.url, await tokenFor(other));
    const sent = await outcomes.publish(other, 400);
    await eventually(() => watcher.events.length >= 20, 10_000, "outcomes flowing");
    const started = Date.now();
    expect(await stopProcess(leaving.proc, 10_000)).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);

    await eventually(() => watcher.events.length >= 400, 20_000, "all 400 outcomes");
    await Bun.sleep(500);
    expect(countByAsset(watcher.events)).toEqual(new Map(sent.map((p) => [p.assetId, 1])));
    expect(await outcomes.publisher.queue.getJobCounts("waiting", "active", "failed", "delayed")).toMatchObject({
      waiting: 0,
      active: 0,
      failed: 0,
      delayed: 0,
    });
  }, 40_000);
});
