/**
 * Re-queues Assets left `processing` with no job: ingest writes the Asset
 * and then queues its job, so a replica killed between the two (or a queue
 * write lost with Redis) leaves an Asset that no worker will ever finish.
 * Every `intervalMs`, one ingest replica (a Redis lock per round) looks at
 * Assets processing for longer than `staleAfterMs` and queues each one's job
 * again under the id the Asset names; a job that exists is left alone, so
 * the sweep never runs an Asset twice.
 */
import type { AssetDoc, AssetStore } from "@pipeline/assets";
import type { Category } from "@pipeline/contracts/asset";
import type { Logger } from "@pipeline/runtime/logger";
import type { RedisClient } from "@pipeline/runtime/redis";
import type { AiJobProducer } from "./queue.ts";

export interface StrandedAssetSweepDeps {
  repository: Pick<AssetStore, "findProcessingSince">;
  producer: Pick<AiJobProducer, "enqueue" | "get">;
  redis: RedisClient;
  prefix: string;
  logger: Logger;
  intervalMs: number;
  staleAfterMs: number;
  /** Assets looked at per round. */
  batch?: number;
}

export function sweepStrandedAssets(deps: StrandedAssetSweepDeps) {
  const lockKey = `${deps.prefix}:stranded-asset-sweep`;

  /** One round; the number of Assets whose job was queued again. */
  async function sweepOnce(): Promise<number> {
    // One replica per round: the lock outlives the round and is never released early.
    const mine = await deps.redis.set(lockKey, "1", "PX", deps.intervalMs, "NX");
    if (!mine) return 0;
    const stale = await deps.repository.findProcessingSince(new Date(Date.now() - deps.staleAfterMs), deps.batch ?? 100);
    let requeued = 0;
    for (const asset of stale) if (await requeueIfJobless(asset)) requeued++;
    return requeued;
  }

  async function requeueIfJobless(asset: AssetDoc): Promise<boolean> {
    const jobId = asset.processingJobId;
    const imageUrl = asset.images?.original?.url;
    if (!jobId || !imageUrl || (await deps.producer.get(jobId))) return false;
    const assetId = asset._id.toHexString();
    await deps.producer.enqueue(
      { assetId, userId: asset.userId.toHexString(), imageUrl, category: asset.category as Category, createdAt: asset.createdAt.toISOString(), attempt: 0 },
      jobId,
    );
    deps.logger.warn({ assetId, jobId }, "asset was processing with no job (stranded); job queued again");
    return true;
  }

  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    sweepOnce,
    start() {
      timer = setInterval(() => void sweepOnce().catch((error) => deps.logger.warn({ err: error }, "stranded-asset sweep failed")), deps.intervalMs);
    },
    stop() {
      clearInterval(timer);
    },
  };
}
