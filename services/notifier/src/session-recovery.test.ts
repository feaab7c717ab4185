import { afterEach, describe, expect, setSystemTime, test } from "bun:test";
import { createLogger, type Logger } from "@pipeline/runtime/logger";
import type { RedisClient } from "@pipeline/runtime/redis";
import { BROADCAST_MESSAGE, EVENT_PACKET } from "@pipeline/runtime/socket-stream";
import type { Socket } from "socket.io";
import { compareStreamIds, SessionRecovery, type SessionRecoveryOptions } from "./session-recovery.ts";
import type { ClusterMessage, RestoredSession, StreamAdapter } from "./stream-adapter.ts";

const ALICE = "65f1c0ffee0123456789aaaa";
const BOB = "65f1c0ffee0123456789bbbb";
const ALICE_ROOM = `user:${ALICE}`;
const BOB_ROOM = `user:${BOB}`;
const SESSION_INFO = { userId: ALICE, expiresAt: "2030-01-01T00:00:00.000Z" };

/**
 * The adapter members SessionRecovery wraps, behaving like the Redis Streams
 * adapter's: onRawMessage decodes an entry and calls (the possibly wrapped)
 * onMessage; onMessage records each delivery with the `except` list it ended with.
 */
class FakeAdapter implements StreamAdapter {
  readonly uid = "this-replica";
  readonly nsp = { name: "/" };
  readonly delivered: { offset: string | undefined; except: string[] }[] = [];
  /** What the next restoreSession resolves with (the adapter's XRANGE of missed packets included). */
  nextSession: RestoredSession | undefined;

  async doPublish(): Promise<string> {
    return "0-0";
  }

  onRawMessage(raw: Record<string, string>, offset: string): void {
    const message: ClusterMessage = { uid: raw.uid ?? "", nsp: raw.nsp ?? "", type: Number(raw.type), ...(raw.data ? { data: JSON.parse(raw.data) } : {}) };
    this.onMessage(message, offset);
  }

  onMessage(message: ClusterMessage, offset?: string): void {
    this.delivered.push({ offset, except: [...(message.data?.opts?.except ?? [])] });
  }

  readonly restoreCalls: { pid: string; offset: string }[] = [];

  async restoreSession(pid: string, offset: string): Promise<RestoredSession | undefined> {
    this.restoreCalls.push({ pid, offset });
    return this.nextSession;
  }
}

/** The stream reader reaching entry `id`: `asset_processed` for `room`, as the notifier's broadcaster writes it. */
function read(adapter: FakeAdapter, id: string, room = ALICE_ROOM, nsp = "/") {
  const data = { packet: { type: EVENT_PACKET, data: ["asset_processed", { n: id }], nsp }, opts: { rooms: [room], except: [], flags: {} } };
  adapter.onRawMessage({ uid: "emitter", nsp, type: String(BROADCAST_MESSAGE), data: JSON.stringify(data) }, id);
}

/** A missed packet as the adapter's XRANGE returns it: the event's arguments, then the entry id. */
const missed = (id: string) => ["asset_processed", { n: id }, id];

interface FakeSocket {
  id: string;
  rooms: Set<string>;
  recovered: boolean;
  data: unknown;
  /** The `data` of every packet written to the socket. */
  packets: unknown[][];
  once(event: string, listener: () => void): void;
  packet(packet: { type: number; data: unknown[] }): void;
  disconnect(): void;
}

function fakeSocket(id: string, init: { rooms?: string[]; recovered?: boolean; data?: unknown } = {}): FakeSocket {
  const listeners = new Map<string, () => void>();
  const socket: FakeSocket = {
    id,
    rooms: new Set([id, ...(init.rooms ?? [ALICE_ROOM])]),
    recovered: init.recovered ?? false,
    data: init.data ?? {},
    packets: [],
    once: (event, listener) => listeners.set(event, listener),
    packet: ({ type, data }) => {
      expect(type).toBe(EVENT_PACKET);
      socket.packets.push(data);
    },
    disconnect: () => listeners.get("disconnect")?.(),
  };
  return socket;
}

const asSocket = (socket: FakeSocket) => socket as unknown as Socket;

function setup(options: Partial<SessionRecoveryOptions> = {}) {
  const adapter = new FakeAdapter();
  const recovery = new SessionRecovery(adapter, { logger: createLogger("notifier-test", "silent"), ...options });
  return { adapter, recovery };
}

/** Socket.IO's recovery path: restoreSession (through the wrapper) from `clientOffset`, then a recovered socket with that session. */
async function resume(adapter: FakeAdapter, clientOffset: string, missedPackets: unknown[][], rooms = [ALICE_ROOM]) {
  adapter.nextSession = { sid: "old-sid", pid: "pid-1", rooms, data: { user: { userId: ALICE } }, missedPackets };
  const session = await adapter.restoreSession("pid-1", clientOffset);
  if (!session) throw new Error("the fake adapter restored no session");
  return { session, finish: (id = "resumed") => fakeSocket(id, { rooms: session.rooms, recovered: true, data: session.data }) };
}

/** The stream ids of the event packets a socket received (their last argument), and the offset its `session` event carried. */
const eventIds = (socket: FakeSocket) => socket.packets.filter((p) => p[0] === "asset_processed").map((p) => p.at(-1));
const sessionPackets = (socket: FakeSocket) => socket.packets.filter((p) => p[0] === "session");

afterEach(() => {
  setSystemTime();
});

describe("compareStreamIds", () => {
  test("orders by milliseconds, then sequence, numerically", () => {
    expect(compareStreamIds("9-0", "10-0")).toBeLessThan(0);
    expect(compareStreamIds("10-2", "10-10")).toBeLessThan(0);
    expect(compareStreamIds("1700000000001-0", "1700000000000-99")).toBeGreaterThan(0);
    expect(compareStreamIds("5-3", "5-3")).toBe(0);
  });

  test("sorts a list of ids in stream order", () => {
    expect(["10-0", "9-1", "10-10", "10-2", "9-0"].sort(compareStreamIds)).toEqual(["9-0", "9-1", "10-0", "10-2", "10-10"]);
  });
});

describe("SessionRecovery.welcome: the session event", () => {
  test("carries no offset before this replica has read anything", () => {
    const { recovery } = setup();
    const socket = fakeSocket("s1");

    recovery.welcome(asSocket(socket), SESSION_INFO);

    expect(socket.packets).toEqual([["session", SESSION_INFO]]);
  });

  test("carries the newest entry this replica has read", () => {
    const { adapter, recovery } = setup();
    read(adapter, "5-0");
    read(adapter, "7-0", BOB_ROOM);
    const socket = fakeSocket("s1");

    const replayed = recovery.welcome(asSocket(socket), SESSION_INFO);

    expect(replayed).toBe(0);
    expect(socket.packets).toEqual([["session", SESSION_INFO, "7-0"]]);
  });

  test("carries the start marker when nothing has been read since start()", async () => {
    const { recovery } = setup();
    const redis = { xadd: async () => "3-0" } as unknown as RedisClient;
    await recovery.start(redis, "pipeline:socket.io", 1000);
    const socket = fakeSocket("s1");

    recovery.welcome(asSocket(socket), SESSION_INFO);

    expect(socket.packets).toEqual([["session", SESSION_INFO, "3-0"]]);
  });
});

describe("SessionRecovery: replay to a recovered socket", () => {
  test("restoreSession holds the missed packets back until welcome()", async () => {
    const { adapter } = setup();

    const { session } = await resume(adapter, "1-0", [missed("2-0")]);

    expect(adapter.restoreCalls).toEqual([{ pid: "pid-1", offset: "1-0" }]);
    expect(session.missedPackets).toEqual([]);
    expect(SessionRecovery.restoredUserId({ data: session.data } as unknown as Socket)).toBe(ALICE);
  });

  test("sends the missed packets plus entries read since, deduplicated, in stream order, then the session event", async () => {
    const { adapter, recovery } = setup();
    read(adapter, "8-0"); // received before the disconnection (the client's offset is 9-0)
    read(adapter, "10-0");
    // The adapter's XRANGE from 9-0 found 10-0 and 11-0; the reader had not reached 11-0 yet.
    const { finish } = await resume(adapter, "9-0", [missed("10-0"), missed("11-0")]);
    read(adapter, "11-0"); // read during the restore: already in the replay
    read(adapter, "12-0"); // read during the restore: not in the XRANGE
    read(adapter, "13-0", BOB_ROOM); // someone else's
    const socket = finish();

    const replayed = recovery.welcome(asSocket(socket), SESSION_INFO);

    expect(replayed).toBe(3);
    expect(eventIds(socket)).toEqual(["10-0", "11-0", "12-0"]);
    expect(socket.packets[0]).toEqual(["asset_processed", { n: "10-0" }, "10-0"]);
    expect(socket.packets.at(-1)).toEqual(["session", SESSION_INFO, "13-0"]);
  });

  test("an entry whose except names the socket's room is not replayed", async () => {
    const { adapter, recovery } = setup();
    const { finish } = await resume(adapter, "1-0", []);
    const data = { packet: { type: EVENT_PACKET, data: ["asset_processed", {}], nsp: "/" }, opts: { rooms: [], except: [ALICE_ROOM], flags: {} } };
    adapter.onRawMessage({ uid: "emitter", nsp: "/", type: String(BROADCAST_MESSAGE), data: JSON.stringify(data) }, "2-0");
    read(adapter, "3-0");
    const socket = finish();

    recovery.welcome(asSocket(socket), SESSION_INFO);

    expect(eventIds(socket)).toEqual(["3-0"]);
  });

  test("a socket that was not recovered gets no replay", async () => {
    const { adapter, recovery } = setup();
    const { session } = await resume(adapter, "1-0", [missed("2-0")]);
    const socket = fakeSocket("fresh", { recovered: false, data: session.data });

    const replayed = recovery.welcome(asSocket(socket), SESSION_INFO);

    expect(replayed).toBe(0);
    expect(eventIds(socket)).toEqual([]);
  });
});

describe("SessionRecovery: live delivery after a replay", () => {
  test("an entry already replayed is skipped for that socket only; later entries reach it", async () => {
    const { adapter, recovery } = setup();
    read(adapter, "9-0");
    const { finish } = await resume(adapter, "9-0", [missed("10-0"), missed("11-0")]);
    const resumed = finish("resumed");
    recovery.welcome(asSocket(resumed), SESSION_INFO);
    recovery.welcome(asSocket(fakeSocket("other")), SESSION_INFO);
    adapter.delivered.length = 0;

    read(adapter, "10-0");
    read(adapter, "11-0");
    read(adapter, "12-0");

    expect(sessionPackets(resumed)).toEqual([["session", SESSION_INFO, "11-0"]]);
    expect(adapter.delivered).toEqual([
      { offset: "10-0", except: ["resumed"] },
      { offset: "11-0", except: ["resumed"] },
      { offset: "12-0", except: [] },
    ]);
  });

  test("a socket that disconnects is no longer excluded", async () => {
    const { adapter, recovery } = setup();
    read(adapter, "9-0");
    const { finish } = await resume(adapter, "9-0", [missed("10-0")]);
    const resumed = finish("resumed");
    recovery.welcome(asSocket(resumed), SESSION_INFO);

    resumed.disconnect();
    read(adapter, "10-0");

    expect(adapter.delivered.at(-1)).toEqual({ offset: "10-0", except: [] });
  });
});

describe("SessionRecovery: the recent-entries window", () => {
  test("entries older than recentMs are evicted and no longer merged into a replay", async () => {
    const { adapter, recovery } = setup({ recentMs: 1000 });
    setSystemTime(new Date("2024-05-01T10:00:00.000Z"));
    read(adapter, "10-0");
    setSystemTime(new Date("2024-05-01T10:00:02.000Z"));
    read(adapter, "11-0");
    read(adapter, "12-0");
    const { finish } = await resume(adapter, "9-0", []);
    const socket = finish();

    recovery.welcome(asSocket(socket), SESSION_INFO);

    expect(eventIds(socket)).toEqual(["11-0", "12-0"]);
  });

  test("at most recentMax entries are kept", async () => {
    const { adapter, recovery } = setup({ recentMax: 2 });
    for (const id of ["10-0", "11-0", "12-0", "13-0"]) read(adapter, id);
    const { finish } = await resume(adapter, "9-0", []);
    const socket = finish();

    recovery.welcome(asSocket(socket), SESSION_INFO);

    expect(eventIds(socket)).toEqual(["12-0", "13-0"]);
  });

  test("warns when entries read during the restore were evicted before the socket was welcomed", async () => {
    const warnings: unknown[][] = [];
    const logger = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as Logger;
    const { adapter, recovery } = setup({ logger, recentMs: 1000 });
    setSystemTime(new Date("2024-05-01T10:00:00.000Z"));
    read(adapter, "10-0");
    const { finish } = await resume(adapter, "9-0", [missed("10-0")]);
    read(adapter, "11-0");
    setSystemTime(new Date("2024-05-01T10:00:05.000Z"));
    read(adapter, "12-0");

    recovery.welcome(asSocket(finish()), SESSION_INFO);

    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]?.[1])).toContain("recovery slower than the recent-entries window");
  });

  test("entries of this replica's own uid or of another namespace are not kept", async () => {
    const { adapter, recovery } = setup();
    read(adapter, "10-0", ALICE_ROOM, "/admin");
    const own = { packet: { type: EVENT_PACKET, data: ["asset_processed", {}], nsp: "/" }, opts: { rooms: [ALICE_ROOM], except: [], flags: {} } };
    adapter.onRawMessage({ uid: adapter.uid, nsp: "/", type: String(BROADCAST_MESSAGE), data: JSON.stringify(own) }, "11-0");
    read(adapter, "12-0");
    const { finish } = await resume(adapter, "9-0", []);
    const socket = finish();

    recovery.welcome(asSocket(socket), SESSION_INFO);

    expect(eventIds(socket)).toEqual(["12-0"]);
  });
});
