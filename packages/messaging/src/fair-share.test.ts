/**
 * The fair share's priorities against a real Redis: jobs run in (priority, arrival) order, as
 * BullMQ runs prioritized jobs, so the order below is the order a worker takes them in.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import { requireRedis, TEST_REDIS_URL } from "../../../test/helpers/shared-servers.ts";
import { type FairLane, FairShare, LANE_SPAN } from "./fair-share.ts";

let redis: Redis;
const prefix = `fair${Date.now().toString(36)}`;
const QUEUE = "ai-processing";

beforeAll(async () => {
  await requireRedis();
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

let fresh = 0;
/** A fair share of its own, and the jobs admitted to it in arrival order. */
function share() {
  const fair = new FairShare(redis, `${prefix}${fresh++}`, QUEUE);
  const admitted: { user: string; id: string; lane: FairLane; priority: number; seq: number }[] = [];
  return {
    fair,
    admitted,
    async admit(user: string, count = 1, lane: FairLane = "upload") {
      for (let i = 0; i < count; i++) {
        const id = `${user}-${lane}-${admitted.filter((job) => job.user === user && job.lane === lane).length + 1}`;
        admitted.push({ user, id, lane, priority: await fair.admit(user, id, lane), seq: admitted.length });
      }
    },
    /** The waiting jobs as a worker would take them. */
    order: () => [...admitted].sort((a, b) => a.priority - b.priority || a.seq - b.seq).map((job) => job.id),
    /** The worker takes the next job: it leaves the waiting jobs and moves the clock. */
    async start() {
      const next = [...admitted].sort((a, b) => a.priority - b.priority || a.seq - b.seq)[0];
      if (!next) throw new Error("nothing waiting");
      admitted.splice(admitted.indexOf(next), 1);
      await fair.release(next.user, next.id, next.lane, next.priority);
      return next.id;
    },
  };
}

describe("fair share", () => {
  test("a user's n-th job runs after every other user's (n-1)-th, whatever the order of arrival", async () => {
    const s = share();
    await s.admit("a", 4);
    await s.admit("b", 2);
    await s.admit("c", 1);
    expect(s.order()).toEqual(["a-upload-1", "b-upload-1", "c-upload-1", "a-upload-2", "b-upload-2", "a-upload-3", "a-upload-4"]);
  });

  test("a user with nothing queued runs in the current round, behind at most one job of each other user", async () => {
    const s = share();
    await s.admit("a", 50);
    for (let i = 0; i < 10; i++) await s.start();
    await s.admit("b", 2);
    // b's first job shares the round of a's 11th (which arrived first), then they alternate.
    expect(s.order().slice(0, 5)).toEqual(["a-upload-11", "b-upload-1", "a-upload-12", "b-upload-2", "a-upload-13"]);
    // The same job admitted twice keeps its place.
    const first = s.admitted.find((job) => job.id === "b-upload-1");
    expect(await s.fair.admit("b", "b-upload-1", "upload")).toBe(first?.priority as number);
    expect(await s.fair.backlogs(5)).toEqual([
      { userId: "a", waiting: 40, reanalysis: 0, weight: 1 },
      { userId: "b", waiting: 2, reanalysis: 0, weight: 1 },
    ]);
  });

  test("re-analysis runs below every upload, fairly between its own users", async () => {
    const s = share();
    await s.admit("a", 2, "reanalysis");
    await s.admit("b", 1, "reanalysis");
    await s.admit("c", 2);
    expect(s.order()).toEqual(["c-upload-1", "c-upload-2", "a-reanalysis-1", "b-reanalysis-1", "a-reanalysis-2"]);
    expect(Math.min(...s.admitted.filter((job) => job.lane === "reanalysis").map((job) => job.priority))).toBeGreaterThan(LANE_SPAN);
  });

  test("a weight of 2 gives a user two jobs a round; removed jobs leave the backlog", async () => {
    const s = share();
    await s.fair.setWeight("heavy", 2);
    await s.admit("light", 3);
    await s.admit("heavy", 4);
    expect(s.order()).toEqual(["light-upload-1", "heavy-upload-1", "heavy-upload-2", "light-upload-2", "heavy-upload-3", "heavy-upload-4", "light-upload-3"]);
    await s.fair.release("heavy", "heavy-upload-4", "upload");
    expect(await s.fair.backlogOf("heavy")).toEqual({ userId: "heavy", waiting: 3, reanalysis: 0, weight: 2 });
  });

  test("past half its range, an idle lane's clock starts over", async () => {
    const s = share();
    await s.admit("a", 1);
    await s.fair.release("a", "a-upload-1", "upload", LANE_SPAN - 10);
    // Nothing of the lane waits in BullMQ's prioritized set (there is none here): the epoch turns.
    await s.admit("b", 1);
    expect(s.admitted.at(-1)?.priority).toBe(1);
  });
});
