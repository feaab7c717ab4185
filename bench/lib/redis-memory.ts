/**
 * What a run leaves in Redis per retained asset: `MEMORY USAGE` of every key
 * under the stack's prefix, grouped by what the key is (a job hash of each
 * queue, a marker, a queue's sorted sets, the capped streams), and the
 * server's `used_memory` growth over the run. The capped streams (the
 * sockets' stream and each queue's event stream) are bounded whatever the
 * throughput or retention, so they are reported apart from the per-asset
 * figure that the capacity formula multiplies.
 */
import { AI_JOB_DEFAULTS, EVENT_MARKER_TTL_S } from "@pipeline/messaging";
import { Redis } from "ioredis";

/** Keys kept for less than the AI job's retention (the rest are kept as long as it): seconds. */
const KEPT_FOR_S: Record<string, number> = { "written-event marker": EVENT_MARKER_TTL_S };

export interface KeyGroup {
  keys: number;
  bytes: number;
}

export interface RedisMemory {
  /** Assets whose keys were counted (completed during the run). */
  assets: number;
  /** `used_memory` after the run minus before it (other clients of the same Redis make it noisy). */
  usedMemoryGrowthBytes: number;
  /** MEMORY USAGE summed per group of keys under the prefix. */
  groups: Record<string, KeyGroup>;
  /** Bytes of the capped streams (not per asset). */
  cappedBytes: number;
  /** Everything else under the prefix, per asset, right after the run. */
  perAssetBytes: number | null;
  /**
   * The same over the AI job's retention (a day): a key kept for a shorter time counts for its share of the
   * day. What the capacity formula multiplies: Redis ≈ this × uploads/s × 86,400 s.
   */
  retainedBytesPerAsset: number | null;
  /** `used_memory` growth minus the capped streams, per asset (the measure; noisy on a shared Redis). */
  usedMemoryPerAssetBytes: number | null;
}

/** The group a key of the stack belongs to, from its name after `prefix:`. */
export function keyGroup(rest: string): string {
  if (rest === "socket.io") return "capped: socket stream";
  if (rest.startsWith("written-event:")) return "written-event marker";
  if (rest.startsWith("deleted-asset:")) return "deleted-asset marker";
  const slash = rest.indexOf(":");
  if (slash < 0) return "other";
  const queue = rest.slice(0, slash);
  const tail = rest.slice(slash + 1);
  if (tail === "events") return `capped: ${queue} events stream`;
  if (["completed", "failed", "delayed", "wait", "active", "paused", "prioritized", "stalled", "marker", "meta", "id", "pc"].includes(tail))
    return `${queue} ${tail}`;
  if (tail.endsWith(":logs")) return `${queue} job logs`;
  if (tail.includes(":")) return `${queue} other`;
  return `${queue} job hash`;
}

function retainedBytes(groups: Record<string, KeyGroup>): number {
  const retention = AI_JOB_DEFAULTS.removeOnCompleteS;
  return Object.entries(groups)
    .filter(([name]) => !name.startsWith("capped:"))
    .reduce((total, [name, g]) => total + g.bytes * Math.min(1, (KEPT_FOR_S[name] ?? retention) / retention), 0);
}

export async function usedMemory(redisUrl: string): Promise<number> {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    return Number(/^used_memory:(\d+)/m.exec(await client.info("memory"))?.[1] ?? 0);
  } finally {
    client.disconnect();
  }
}

/** Sums MEMORY USAGE (every field sampled: SAMPLES 0) over the keys under `prefix:`, by group. */
export async function redisMemory(redisUrl: string, prefix: string, assets: number, usedBefore: number): Promise<RedisMemory> {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const groups: Record<string, KeyGroup> = {};
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      const pipeline = client.pipeline();
      for (const key of keys) pipeline.call("MEMORY", "USAGE", key, "SAMPLES", "0");
      const sizes = (await pipeline.exec()) ?? [];
      keys.forEach((key, i) => {
        const group = keyGroup(key.slice(prefix.length + 1));
        const entry = groups[group] ?? { keys: 0, bytes: 0 };
        groups[group] = { keys: entry.keys + 1, bytes: entry.bytes + Number(sizes[i]?.[1] ?? 0) };
      });
    } while (cursor !== "0");
    const usedAfter = Number(/^used_memory:(\d+)/m.exec(await client.info("memory"))?.[1] ?? 0);
    const sum = (capped: boolean) =>
      Object.entries(groups)
        .filter(([name]) => name.startsWith("capped:") === capped)
        .reduce((total, [, g]) => total + g.bytes, 0);
    const cappedBytes = sum(true);
    const growth = usedAfter - usedBefore;
    return {
      assets,
      usedMemoryGrowthBytes: growth,
      groups,
      cappedBytes,
      perAssetBytes: assets ? Math.round(sum(false) / assets) : null,
      retainedBytesPerAsset: assets ? Math.round(retainedBytes(groups) / assets) : null,
      usedMemoryPerAssetBytes: assets ? Math.round((growth - cappedBytes) / assets) : null,
    };
  } finally {
    client.disconnect();
  }
}
