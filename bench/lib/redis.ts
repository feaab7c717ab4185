/** The shared Redis: its server process (for CPU and RSS readings) and removing a run's keys. */
import { Redis } from "ioredis";
import type { Watched } from "./proc-stats.ts";
import { cpuTicks } from "./proc-stats.ts";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** redis-server's pid from `INFO server`; null when that process is not visible here (another host or container). */
export async function redisServerPid(url = REDIS_URL): Promise<number | null> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const info = await client.info("server");
    const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
    return Number.isInteger(pid) && cpuTicks(pid) !== null ? pid : null;
  } finally {
    client.disconnect();
  }
}

export function redisWatched(pid: number | null): Watched[] {
  return pid === null ? [] : [{ name: "redis", pids: () => [pid] }];
}

/** Deletes every key under `prefix:` (a run's queues, rate-limit counters, streams). */
export async function deleteKeys(prefix: string, url = REDIS_URL): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) deleted += await client.del(...keys);
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
  return deleted;
}
