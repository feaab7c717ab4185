import { describe, expect, test } from "bun:test";
import { NotifierPool, SESSION_IDLE_MS } from "./notifier-pool.ts";

/** A clock the test moves, and a resolver whose answers it changes. */
function setup(urls: string[], answers: Record<string, string[] | Error>) {
  let now = 1_000_000;
  const lookups: string[] = [];
  const pool = new NotifierPool({
    urls,
    now: () => now,
    resolve: async (host) => {
      lookups.push(host);
      const answer = answers[host];
      if (!answer || answer instanceof Error) throw answer ?? new Error(`ENOTFOUND ${host}`);
      return answer;
    },
  });
  return { pool, lookups, answers, tick: (ms: number) => (now += ms) };
}

describe("NotifierPool", () => {
  test("a host name stands for every address it resolves to (compose's service name: every replica)", async () => {
    const { pool } = setup(["http://notifier:3002", "http://10.0.0.9:4000"], { notifier: ["10.0.0.2", "10.0.0.3", "fd00::4"] });
    expect(await pool.replicas()).toEqual(["http://10.0.0.2:3002", "http://10.0.0.3:3002", "http://[fd00::4]:3002", "http://10.0.0.9:4000"]);
  });

  test("new sessions take the replicas in turn", async () => {
    const { pool } = setup(["http://notifier:3002"], { notifier: ["10.0.0.2", "10.0.0.3", "10.0.0.4"] });
    const firsts = [];
    for (let i = 0; i < 6; i++) firsts.push((await pool.forNewSession())[0]);
    expect(firsts).toEqual([2, 3, 4, 2, 3, 4].map((n) => `http://10.0.0.${n}:3002`));
    // The others follow, so a handshake that finds its first choice down tries the rest.
    expect(await pool.forNewSession()).toEqual([2, 3, 4].map((n) => `http://10.0.0.${n}:3002`));
    expect(await pool.forNewSession()).toEqual([3, 4, 2].map((n) => `http://10.0.0.${n}:3002`));
  });

  test("resolves again after a few seconds, and keeps the last replicas while the name does not resolve", async () => {
    const { pool, lookups, answers, tick } = setup(["http://notifier:3002"], { notifier: ["10.0.0.2"] });
    await pool.replicas();
    answers.notifier = ["10.0.0.2", "10.0.0.3"];
    expect(await pool.replicas()).toEqual(["http://10.0.0.2:3002"]);
    expect(lookups).toHaveLength(1);
    tick(5000);
    expect(await pool.replicas()).toEqual(["http://10.0.0.2:3002", "http://10.0.0.3:3002"]);
    answers.notifier = new Error("ENOTFOUND notifier");
    tick(5000);
    expect(await pool.replicas()).toEqual(["http://10.0.0.2:3002", "http://10.0.0.3:3002"]);
    expect(lookups).toHaveLength(3);
  });

  test("a session stays with its replica while used, and is forgotten once idle", async () => {
    const { pool, tick } = setup(["http://127.0.0.1:3002"], {});
    pool.remember("a", "http://127.0.0.1:3002");
    tick(SESSION_IDLE_MS - 1);
    expect(pool.holder("a")).toBe("http://127.0.0.1:3002");
    pool.remember("b", "http://127.0.0.1:3002");
    tick(SESSION_IDLE_MS + 1);
    pool.remember("c", "http://127.0.0.1:3002"); // sweeps
    expect(pool.holder("a")).toBeUndefined();
    expect(pool.holder("b")).toBeUndefined();
    expect(pool.holder("c")).toBe("http://127.0.0.1:3002");
    pool.forget("c");
    expect(pool.sessionCount).toBe(0);
  });
});
