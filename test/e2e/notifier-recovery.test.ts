/**
 * Connection state recovery over two real notifier replicas: a
 * socket whose connection drops for a while comes back with
 * `socket.recovered` true and receives what was emitted meanwhile exactly
 * once, in order, over websocket and long-polling, even when it had received
 * nothing before the drop and even when events keep flowing during the drop
 * and the reconnection. A session can only be resumed by its own user with a
 * valid token; a refused resumption is sent none of the missed events.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { io } from "socket.io-client";
import { OutcomeInjector } from "../helpers/outcomes.ts";
import { connectRecording, countByAsset, eventually, type RecordingSocket } from "../helpers/sockets.ts";
import { type ServiceHandle, Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";

let stack: Stack;
let n0: ServiceHandle;
let n1: ServiceHandle;
let outcomes: OutcomeInjector;
const open: RecordingSocket[] = [];

async function connect(...args: Parameters<typeof connectRecording>): Promise<RecordingSocket> {
  const socket = await connectRecording(...args);
  open.push(socket);
  return socket;
}

/** Cuts the connection under the socket (the client sees "transport close" and reconnects). */
function drop(socket: RecordingSocket): void {
  socket.socket.io.engine.close();
}

beforeAll(async () => {
  stack = await Stack.start({ services: ["notifier"] });
  await stack.add("notifier");
  [n0, n1] = stack.services as [ServiceHandle, ServiceHandle];
  outcomes = new OutcomeInjector(stack.redis(), stack.id);
}, 30_000);

afterAll(async () => {
  for (const socket of open) socket.close();
  await outcomes?.close();
  await stack?.stop();
});

describe("connection state recovery", () => {
  test("sockets that had received nothing, dropped for ~2 s on websocket and long-polling, get what was emitted meanwhile exactly once", async () => {
    const user = newUserId();
    const token = await tokenFor(user);
    const options = { reconnection: true, reconnectionDelay: 2000 };
    const ws = await connect(n0.url, token, options);
    const polling = await connect(n1.url, token, { ...options, transports: ["polling"] });
    const control = await connect(n1.url, token);
    await Bun.sleep(100);
    drop(ws);
    drop(polling);
    await eventually(() => ws.disconnects.length === 1 && polling.disconnects.length === 1, 5_000, "both dropped");
    expect(ws.socket.connected || polling.socket.connected).toBe(false);

    const missed = await outcomes.publish(user, 6);
    await eventually(() => control.events.length === 6, 10_000, "the control socket's 6 events");
    await eventually(
      () => ws.connects.length === 2 && polling.connects.length === 2 && ws.events.length >= 6 && polling.events.length >= 6,
      10_000,
      "reconnections",
    );
    const live = await outcomes.publish(user, 2);
    await eventually(() => ws.events.length >= 8 && polling.events.length >= 8, 10_000, "the events after recovery");
    await Bun.sleep(500);

    const expected = new Map([...missed, ...live].map((p) => [p.assetId, 1]));
    for (const socket of [ws, polling]) {
      expect(socket.connects).toEqual([{ recovered: false }, { recovered: true }]);
      expect(socket.socket.recovered).toBe(true);
      expect(countByAsset(socket.events)).toEqual(expected);
      expect(socket.events.map((e) => e.assetId)).toEqual(control.events.map((e) => e.assetId));
    }
    expect(ws.socket.io.engine.transport.name).toBe("websocket");
    expect(polling.socket.io.engine.transport.name).toBe("polling");
  }, 30_000);

  test("dropped twice while events keep flowing: every event exactly once, in the stream's order, on both replicas", async () => {
    const user = newUserId();
    const token = await tokenFor(user);
    const options = { reconnection: true, reconnectionDelay: 300 };
    const dropped = [await connect(n0.url, token, options), await connect(n1.url, token, options)];
    const control = await connect(n0.url, token);
    const sent: string[] = [];
    const publishing = (async () => {
      for (let i = 0; i < 60; i++) {
        sent.push(...(await outcomes.publish(user, 1)).map((p) => p.assetId));
        await Bun.sleep(25);
      }
    })();
    await Bun.sleep(400);
    dropped.forEach(drop);
    await eventually(() => dropped.every((s) => s.connects.length === 2), 5_000, "first reconnection");
    await Bun.sleep(300);
    dropped.forEach(drop);
    await publishing;
    await eventually(() => [...dropped, control].every((s) => s.events.length >= 60), 15_000, "all 60 events everywhere");
    await Bun.sleep(500);

    const expected = new Map(sent.map((id) => [id, 1]));
    expect(countByAsset(control.events)).toEqual(expected);
    for (const socket of dropped) {
      expect(socket.connects).toEqual([{ recovered: false }, { recovered: true }, { recovered: true }]);
      expect(countByAsset(socket.events)).toEqual(expected);
      expect(socket.events.map((e) => e.assetId)).toEqual(control.events.map((e) => e.assetId));
    }
  }, 30_000);

  test("a session is resumed only by its own user holding a valid token; a refused resumption is sent none of the missed events", async () => {
    const owner = newUserId();
    const tokenOwner = await tokenFor(owner);
    const [first, second] = [await connect(n0.url, tokenOwner), await connect(n0.url, tokenOwner)];
    await outcomes.publish(owner, 1);
    await eventually(() => first.events.length === 1 && second.events.length === 1, 10_000, "one event before the drop");
    // What the client would send to resume: its private session id and its last offset.
    const sessions = [first, second].map(({ socket }) => {
      const state = socket as unknown as { _pid?: string; _lastOffset?: string };
      return { pid: state._pid, offset: state._lastOffset };
    });
    for (const session of sessions) expect(session.pid && session.offset).toBeTruthy();
    drop(first);
    drop(second);
    await eventually(() => first.disconnects.length === 1 && second.disconnects.length === 1, 5_000, "both dropped");
    await outcomes.publish(owner, 3);
    await Bun.sleep(500);

    const attempts = [
      { token: await tokenFor(newUserId()), session: sessions[0]!, reason: "unauthorized: the session being resumed belongs to another user" },
      { token: await tokenFor(owner, { expiresInS: -5 }), session: sessions[1]!, reason: "unauthorized: token expired" },
    ];
    for (const attempt of attempts) {
      const socket = io(n0.url, { auth: { token: attempt.token, ...attempt.session }, transports: ["websocket"], reconnection: false, forceNew: true });
      const eventPackets: unknown[] = [];
      socket.io.on("packet", (packet) => {
        if (packet.type === 2) eventPackets.push(packet.data);
      });
      const message = await new Promise<string>((resolve) => {
        socket.once("connect", () => resolve("connected"));
        socket.once("connect_error", (error) => resolve(error.message));
      });
      await Bun.sleep(200);
      socket.close();
      expect(message).toBe(attempt.reason);
      expect(eventPackets).toEqual([]);
    }
  }, 30_000);
});
