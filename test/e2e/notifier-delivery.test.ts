/**
 * Delivery across replicas: three real notifier processes on the
 * Redis Streams adapter, real socket.io-client sockets on every replica and
 * both transports, outcomes put on the `asset-outcomes` queue as the
 * ai-worker does. Each of a user's sockets gets each event exactly once (and
 * all in the same order), other users get none of it, a client cannot join
 * another room, bad tokens are refused with a reason, and a socket is told
 * and disconnected when its token expires.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AssetProcessedEvent, assetProcessedFailureSchema, assetProcessedSuccessSchema } from "@pipeline/contracts/events";
import { decode, sign } from "hono/jwt";
import { metric } from "../helpers/metrics.ts";
import { OutcomeInjector } from "../helpers/outcomes.ts";
import { connectError, connectRecording, countByAsset, eventually, type RecordingSocket } from "../helpers/sockets.ts";
import { type ServiceHandle, Stack, TEST_JWT_SECRET } from "../helpers/stack.ts";
import { newUserId, rawToken, tokenFor } from "../helpers/tokens.ts";

let stack: Stack;
let notifiers: ServiceHandle[];
let outcomes: OutcomeInjector;
const userA = newUserId();
const userB = newUserId();
const userC = newUserId();
/** A's sockets: websocket on each replica, long-polling on the third, and one upgraded from polling to websocket on the second. */
let socketsA: RecordingSocket[];
let socketsB: RecordingSocket[];
let socketsC: RecordingSocket[];
let sentA: AssetProcessedEvent[];
let sentB: AssetProcessedEvent[];

beforeAll(async () => {
  stack = await Stack.start({ services: ["notifier"] });
  await stack.add("notifier");
  await stack.add("notifier");
  notifiers = stack.services.filter((service) => service.name === "notifier");
  outcomes = new OutcomeInjector(stack.redis(), stack.id);
  const [n0, n1, n2] = notifiers.map((n) => n.url) as [string, string, string];
  const [tokenA, tokenB, tokenC] = await Promise.all([tokenFor(userA), tokenFor(userB), tokenFor(userC)]);
  socketsA = await Promise.all([
    connectRecording(n0, tokenA),
    connectRecording(n1, tokenA),
    connectRecording(n2, tokenA),
    connectRecording(n2, tokenA, { transports: ["polling"] }),
    connectRecording(n1, tokenA, { transports: ["polling", "websocket"] }),
  ]);
  await eventually(() => socketsA[4]!.socket.io.engine.transport.name === "websocket", 5_000, "the upgrade to websocket");
  socketsB = await Promise.all([connectRecording(n0, tokenB), connectRecording(n2, tokenB, { transports: ["polling"] })]);
  socketsC = await Promise.all(notifiers.map((n) => connectRecording(n.url, tokenC)));

  // C tries every way a client might ask for A's room; the server handles no client event at all.
  for (const { socket } of socketsC) {
    socket.emit("join", `user:${userA}`);
    socket.emit("subscribe", { room: `user:${userA}` });
    socket.emit("join", { userId: userA });
  }
  await Bun.sleep(200);

  [sentA, sentB] = await Promise.all([outcomes.publish(userA, 20), outcomes.publish(userB, 5)]);
  await eventually(() => socketsA.every((s) => s.events.length >= 20) && socketsB.every((s) => s.events.length >= 5), 20_000, "every event on every socket");
  // Room for a duplicate or a stray event to show up before counting.
  await Bun.sleep(750);
}, 60_000);

afterAll(async () => {
  for (const socket of [...(socketsA ?? []), ...(socketsB ?? []), ...(socketsC ?? [])]) socket.close();
  await outcomes?.close();
  await stack?.stop();
});

describe("delivery across three notifier replicas", () => {
  test("each of A's sockets, on every replica, over websocket, long-polling and an upgraded connection, gets each of A's 20 events exactly once", () => {
    const expected = new Map(sentA.map((payload) => [payload.assetId, 1]));
    for (const socket of socketsA) expect(countByAsset(socket.events)).toEqual(expected);
    expect(socketsA.map((s) => s.socket.io.engine.transport.name)).toEqual(["websocket", "websocket", "websocket", "polling", "websocket"]);
  });

  test("events carry the documented payload field for field, unchanged", () => {
    const sent = new Map(sentA.map((payload) => [payload.assetId, payload]));
    for (const socket of socketsA) {
      for (const event of socket.events) {
        expect(event).toEqual(sent.get(event.assetId)!);
        // Field for field: strict() refuses any extra key.
        (event.status === "active" ? assetProcessedSuccessSchema : assetProcessedFailureSchema).strict().parse(event);
      }
    }
  });

  test("all of a user's sockets see the events in the same order (the stream's)", () => {
    const order = socketsA[0]!.events.map((e) => e.assetId);
    for (const socket of socketsA.slice(1)) expect(socket.events.map((e) => e.assetId)).toEqual(order);
  });

  test("B's sockets get exactly B's 5 events and none of A's; C, who asked to join A's room, gets nothing", () => {
    const expected = new Map(sentB.map((payload) => [payload.assetId, 1]));
    for (const socket of socketsB) expect(countByAsset(socket.events)).toEqual(expected);
    for (const socket of socketsC) expect(socket.events).toHaveLength(0);
  });

  test("each outcome was taken from BullMQ by exactly one replica: 25 broadcasts in all, every job completed (and removed)", async () => {
    const perReplica = await Promise.all(notifiers.map((n) => metric(n.url, "asset_processed_emitted_total")));
    expect(perReplica.reduce((a, b) => a + b, 0)).toBe(25);
    // A completed outcome is removed at once (its event's marker makes a repeat a no-op): none is left in any state.
    expect(await outcomes.publisher.queue.getJobCounts("completed", "failed", "active", "waiting", "delayed")).toMatchObject({
      completed: 0,
      failed: 0,
      active: 0,
      waiting: 0,
      delayed: 0,
    });
  });

  test("each replica reports its connected sockets", async () => {
    const counts = await Promise.all(notifiers.map((n) => metric(n.url, "socketio_connected_sockets")));
    // n0: A, B, C; n1: A, A (upgraded), C; n2: A (ws), A (polling), B (polling), C.
    expect(counts).toEqual([3, 3, 4]);
  });
});

describe("handshake", () => {
  const now = () => Math.floor(Date.now() / 1000);

  test("refuses missing, malformed, expired, wrongly signed and wrong-algorithm tokens, saying why", async () => {
    const url = notifiers[0]!.url;
    const sub = userA;
    const cases: [string, string | undefined, string][] = [
      ["missing", undefined, "unauthorized: missing token"],
      ["empty", "", "unauthorized: missing token"],
      ["malformed", "not-a-jwt", "unauthorized: token is malformed"],
      ["three garbage parts", "a.b.c", "unauthorized: token is malformed"],
      ["expired", await tokenFor(sub, { expiresInS: -60 }), "unauthorized: token expired"],
      ["wrong signature", await tokenFor(sub, { secret: "another-secret-0123456789" }), "unauthorized: token signature does not match"],
      ["HS512", await sign({ sub, exp: now() + 3600 }, TEST_JWT_SECRET, "HS512"), "unauthorized: token algorithm not allowed (HS256 only)"],
      ["alg none", await rawToken({ alg: "none", typ: "JWT" }, { sub, exp: now() + 3600 }), "unauthorized: token algorithm not allowed (HS256 only)"],
      ["no exp", await rawToken({ alg: "HS256", typ: "JWT" }, { sub }), "unauthorized: token has no exp claim"],
      ["sub not an ObjectId", await rawToken({ alg: "HS256", typ: "JWT" }, { sub: "admin", exp: now() + 3600 }), "unauthorized: invalid token claims: sub"],
    ];
    const messages = await Promise.all(cases.map(([, token]) => connectError(url, token)));
    // Each refusal's message starts with its reason (a mismatch shows the reason expected next to the message received).
    const received = cases.map(([name], i) => [name, messages[i]]);
    expect(received).toEqual(cases.map(([name, , reason], i) => [name, messages[i]?.startsWith(reason) ? messages[i] : reason]));
    // The same refusal over long-polling.
    expect(await connectError(url, "not-a-jwt", { transports: ["polling"] })).toStartWith("unauthorized: token is malformed");
  });

  test("a token that expires while connected: session_expired, then disconnect at exp, on both transports; the token is refused afterwards", async () => {
    const expiresInS = 2;
    const token = await tokenFor(userC, { expiresInS });
    const exp = (decode(token).payload.exp as number) * 1000;
    const sockets = await Promise.all([connectRecording(notifiers[1]!.url, token), connectRecording(notifiers[2]!.url, token, { transports: ["polling"] })]);
    const disconnectedAt: number[] = [];
    for (const s of sockets) s.socket.on("disconnect", () => disconnectedAt.push(Date.now()));
    await eventually(() => sockets.every((s) => s.disconnects.length === 1), 6_000, "disconnect at exp");
    for (const s of sockets) {
      expect(s.disconnects).toEqual(["io server disconnect"]);
      const expired = s.others.filter((o) => o.event === "session_expired");
      expect(expired).toEqual([{ event: "session_expired", args: [{ reason: expect.stringContaining("token expired") }] }]);
      // session_expired comes last, after the session event sent at connect.
      expect(s.others.at(-1)?.event).toBe("session_expired");
    }
    for (const at of disconnectedAt) expect(at).toBeGreaterThanOrEqual(exp - 50);
    expect(await connectError(notifiers[1]!.url, token)).toBe("unauthorized: token expired");
  }, 15_000);
});
