/**
 * The gateway as the notifiers' front door (NOTIFIER_URL), as compose runs it
 * with `--scale notifier=3`: real socket.io-client connections to the
 * gateway's own address, over websocket, long-polling and polling upgraded to
 * websocket, spread over three notifier replicas, each getting its events;
 * long-polling stays on the replica holding its session (raw Engine.IO
 * requests prove it); a replica that dies is skipped by new sessions.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { upload } from "../helpers/api.ts";
import { productPhoto } from "../helpers/images.ts";
import { metric } from "../helpers/metrics.ts";
import { connectRecording, countByAsset, eventually, type RecordingSocket } from "../helpers/sockets.ts";
import { type ServiceHandle, Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";

let stack: Stack;
let notifiers: ServiceHandle[];
const userA = newUserId();
let tokenA: string;
const sockets: RecordingSocket[] = [];

/** What the notifier's socketio_connected_sockets gauge says now. */
const connectedOn = (notifier: ServiceHandle) => metric(notifier.url, "socketio_connected_sockets");

beforeAll(async () => {
  stack = await Stack.start({ services: ["ingest", "ai-worker", "notifier", "notifier", "notifier"] });
  notifiers = stack.services.filter((service) => service.name === "notifier");
  await stack.add("gateway", { NOTIFIER_URL: notifiers.map((notifier) => notifier.url).join(",") });
  tokenA = await tokenFor(userA);
}, 120_000);

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await stack?.stop();
});

describe("the gateway forwards /socket.io/ to three notifiers", () => {
  test("the page is told to connect to the gateway itself, and so is the AsyncAPI document", async () => {
    const config = await (await fetch(`${stack.gatewayUrl}/config.json`)).json();
    expect(config.notifierUrl).toBe(stack.gatewayUrl);
    const asyncApi = await (await fetch(`${stack.gatewayUrl}/api/asyncapi.json`)).json();
    expect(asyncApi.servers.notifier.host).toBe(new URL(stack.gatewayUrl).host);
  });

  test("sockets over websocket, polling and polling-then-websocket connect through the gateway, spread over every replica", async () => {
    for (const transports of [["websocket"], ["polling"], ["polling", "websocket"]] as const) {
      for (let i = 0; i < 3; i++) sockets.push(await connectRecording(stack.gatewayUrl, tokenA, { transports: [...transports] }));
    }
    const counts = await Promise.all(notifiers.map(connectedOn));
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(sockets.length);
    for (const count of counts) expect(count).toBeGreaterThanOrEqual(1);
    // The upgrade request carries the sid of a polling session: it reached the replica holding it.
    const upgrading = sockets.slice(6);
    await eventually(() => upgrading.every((s) => s.socket.io.engine.transport.name === "websocket"), 10_000, "the upgrades to websocket");
  });

  test("an upload's event reaches every socket exactly once, and polling sockets never lost their session", async () => {
    const response = await upload(stack.gatewayUrl, tokenA, { image: await productPhoto({ format: "png" }), category: "sneaker" });
    expect(response.status).toBe(202);
    const { assetId } = (await response.json()) as { assetId: string };
    await eventually(() => sockets.every((s) => s.events.length >= 1), 60_000, "the event on every socket");
    await Bun.sleep(500);
    for (const socket of sockets) {
      expect(countByAsset(socket.events)).toEqual(new Map([[assetId, 1]]));
      // A polling request routed to the wrong replica is 400 "Session ID unknown": the socket would have dropped.
      expect(socket.disconnects).toEqual([]);
      expect(socket.connects).toHaveLength(1);
    }
  }, 90_000);
});

describe("long-polling is sticky", () => {
  const poll = (query: string, init?: RequestInit) => fetch(`${stack.gatewayUrl}/socket.io/?EIO=4&transport=polling${query}`, init);

  test("every request of a session reaches the replica that opened it", async () => {
    const handshake = await poll("");
    expect(handshake.status).toBe(200);
    const open = await handshake.text();
    expect(open).toStartWith("0{");
    const sid = JSON.parse(open.slice(1)).sid as string;
    // Socket.IO's CONNECT with the token, then the server's answer on the next GET.
    const connect = await poll(`&sid=${sid}`, { method: "POST", body: `40${JSON.stringify({ token: tokenA })}` });
    expect([connect.status, await connect.text()]).toEqual([200, "ok"]);
    // The CONNECT ack and the `session` event may come in one answer or two: read until the ack is in.
    let received = "";
    for (let i = 0; i < 3 && !received.includes('40{"sid":'); i++) {
      const answer = await poll(`&sid=${sid}`);
      expect(answer.status).toBe(200);
      received += await answer.text();
    }
    expect(received).toContain('40{"sid":');
    // With three replicas, an unsticky proxy would send most of these elsewhere (400 "Session ID unknown").
    for (let i = 0; i < 9; i++) {
      const pong = await poll(`&sid=${sid}`, { method: "POST", body: "3" });
      expect([pong.status, await pong.text()], `request ${i}`).toEqual([200, "ok"]);
    }
    // Closing the session (Engine.IO's close packet) ends it on its replica; the gateway then refuses its sid.
    const close = await poll(`&sid=${sid}`, { method: "POST", body: "1" });
    expect(close.status).toBe(200);
    await close.text();
    await eventually(
      async () => {
        const after = await poll(`&sid=${sid}`);
        const status = after.status;
        await after.text();
        return status === 400;
      },
      10_000,
      "the closed session refused",
    );
  });

  test("a sid the gateway never saw gets Engine.IO's own 400", async () => {
    const response = await poll("&sid=not-a-session");
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ code: 1, message: "Session ID unknown" });
  });
});

describe("a replica that dies", () => {
  test("new sessions skip it, and its websocket clients reconnect through the gateway to the others", async () => {
    const before = await Promise.all(notifiers.map(connectedOn));
    const reconnecting = await connectRecording(stack.gatewayUrl, tokenA, { transports: ["websocket"], reconnection: true, reconnectionDelay: 200 });
    sockets.push(reconnecting);
    const after = await Promise.all(notifiers.map(connectedOn));
    // The replica this socket landed on dies.
    const victim = notifiers[after.findIndex((count, i) => count > before[i]!)]!;
    expect(victim).toBeDefined();
    victim.proc.kill("SIGKILL");
    await victim.proc.exited;
    for (let i = 0; i < 3; i++) sockets.push(await connectRecording(stack.gatewayUrl, tokenA, { transports: ["polling"] }));
    for (let i = 0; i < 3; i++) sockets.push(await connectRecording(stack.gatewayUrl, tokenA, { transports: ["websocket"] }));
    const alive = notifiers.filter((notifier) => notifier !== victim);
    await eventually(async () => (await Promise.all(alive.map(connectedOn))).every((count) => count >= 1), 10_000, "sockets on the live replicas");
    // Its client saw the connection drop and is connected again, through the gateway, to a live replica.
    await eventually(() => reconnecting.connects.length === 2 && reconnecting.socket.connected, 15_000, "the reconnection");
    expect(reconnecting.disconnects).toHaveLength(1);
  }, 60_000);
});
