/**
 * Fair share of one BullMQ queue between users, by job priority (start-time
 * fair queueing). Each lane (new uploads; re-analysis below them) has a clock:
 * the round of the job that started last. A user's new job is tagged one step
 * after the later of the clock and their own newest waiting job, and BullMQ
 * runs the lowest priority first (FIFO within one), so a user's n-th waiting
 * job runs after every other user's (n-1)-th, whatever the order of arrival,
 * and a user with nothing queued runs in the current round. A weight w gives
 * a user w jobs per round (1 by default).
 *
 * State per lane, in Redis beside the queue's keys: the clock and its epoch,
 * a sorted set per user of their waiting jobs (jobId -> tag), and the users'
 * backlogs (userId -> waiting jobs, for admins). Nothing needs decrementing to
 * stay correct: a job that left without a release (removed by hand) is
 * forgotten once the clock passes it. When the clock reaches half the lane's
 * range and the lane has no waiting job, the epoch turns and the clock starts
 * over, so priorities stay within BullMQ's 1..2^21-1.
 */
import type { RedisClient } from "@pipeline/runtime/redis";

export const FAIR_LANES = ["upload", "reanalysis"] as const;
export type FairLane = (typeof FAIR_LANES)[number];

/** Rounds a lane can hold: uploads take priorities 1..SPAN, re-analysis SPAN+1..2*SPAN (BullMQ's limit is 2^21-1). */
export const LANE_SPAN = 2 ** 20 - 1;
const LANE_BASE: Record<FairLane, number> = { upload: 0, reanalysis: LANE_SPAN };
/** Tags count in 1/SCALE of a round, so a step of 1/w is a whole number for every w of 1..16 (and 1/16..1). */
const SCALE = 720_720;
export const MIN_WEIGHT = 1 / 16;
export const MAX_WEIGHT = 16;

/** %.17g: Lua hands a number to Redis as %.14g, which rounds the large scores. */
const ADMIT = `
local userKey, clockKey, backlogKey, epochsKey, weightsKey, prioritizedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local jobId, userId = ARGV[1], ARGV[2]
local scale, base, span = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local function num(x) return string.format('%.17g', x) end
local function priorityOf(tag) return base + math.min(math.ceil(tag / scale), span) end
local clock = tonumber(redis.call('HGET', clockKey, 'clock') or '0')
local epoch = redis.call('HGET', clockKey, 'epoch') or '0'
if clock >= span / 2 then
  -- BullMQ scores a prioritized job priority * 2^32 + a counter: none of this lane's left, the clock starts over.
  local low, high = num((base + 1) * 4294967296), num((base + span + 1) * 4294967296 - 1)
  if redis.call('ZCOUNT', prioritizedKey, low, high) == 0 then
    clock = 0
    epoch = tostring(tonumber(epoch) + 1)
    redis.call('HSET', clockKey, 'clock', 0, 'epoch', epoch)
    redis.call('DEL', backlogKey)
  end
end
if redis.call('HGET', epochsKey, userId) ~= epoch then
  redis.call('DEL', userKey)
  redis.call('HSET', epochsKey, userId, epoch)
end
local existing = redis.call('ZSCORE', userKey, jobId)
if existing then return priorityOf(tonumber(existing)) end
redis.call('ZREMRANGEBYSCORE', userKey, '-inf', '(' .. num((clock - 1) * scale))
local tail = 0
local last = redis.call('ZRANGE', userKey, -1, -1, 'WITHSCORES')
if last[2] then tail = tonumber(last[2]) end
local weight = tonumber(redis.call('HGET', weightsKey, userId) or '1') or 1
local tag = math.max(clock * scale, tail) + math.floor(scale / weight + 0.5)
redis.call('ZADD', userKey, num(tag), jobId)
redis.call('ZADD', backlogKey, redis.call('ZCARD', userKey), userId)
return priorityOf(tag)
`;

const RELEASE = `
local userKey, clockKey, backlogKey, epochsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local jobId, userId, started = ARGV[1], ARGV[2], tonumber(ARGV[3])
local epoch = redis.call('HGET', clockKey, 'epoch') or '0'
if redis.call('HGET', epochsKey, userId) == epoch and redis.call('ZREM', userKey, jobId) == 1 then
  local left = redis.call('ZCARD', userKey)
  if left == 0 then redis.call('ZREM', backlogKey, userId) else redis.call('ZADD', backlogKey, left, userId) end
end
if started > 0 and started > tonumber(redis.call('HGET', clockKey, 'clock') or '0') then
  redis.call('HSET', clockKey, 'clock', started)
end
return 1
`;

type WithScripts = RedisClient & {
  fairAdmit(...args: (string | number)[]): Promise<number>;
  fairRelease(...args: (string | number)[]): Promise<number>;
};

/** A user's waiting jobs in one queue, for admins. */
export interface UserBacklog {
  userId: string;
  waiting: number;
  /** Of which re-analysis. */
  reanalysis: number;
  weight: number;
}

export class FairShare {
  private readonly redis: WithScripts;
  private readonly base: string;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly queueName: string,
  ) {
    if (!("fairAdmit" in redis)) {
      redis.defineCommand("fairAdmit", { numberOfKeys: 6, lua: ADMIT });
      redis.defineCommand("fairRelease", { numberOfKeys: 4, lua: RELEASE });
    }
    this.redis = redis as WithScripts;
    this.base = `${prefix}:${queueName}:fair`;
  }

  /** Records a new job of `userId` as waiting and gives its BullMQ priority; the same job again gets the same priority. */
  async admit(userId: string, jobId: string, lane: FairLane): Promise<number> {
    const [user, clock, backlog, epochs] = this.keys(userId, lane);
    const prioritized = `${this.prefix}:${this.queueName}:prioritized`;
    return this.redis.fairAdmit(user, clock, backlog, epochs, this.weightsKey, prioritized, jobId, userId, SCALE, LANE_BASE[lane], LANE_SPAN);
  }

  /** The job stopped waiting: it started (with its `priority`, which moves the lane's clock) or was removed (no priority). */
  async release(userId: string, jobId: string, lane: FairLane, priority?: number): Promise<void> {
    const started = priority ? Math.max(0, priority - LANE_BASE[lane]) : 0;
    await this.redis.fairRelease(...this.keys(userId, lane), jobId, userId, started);
  }

  /** The users with the most waiting jobs (both lanes), most first. */
  async backlogs(top: number): Promise<UserBacklog[]> {
    const [uploads, reanalyses] = await Promise.all(FAIR_LANES.map((lane) => this.redis.zrevrange(this.laneKey(lane, "backlog"), 0, top - 1, "WITHSCORES")));
    const counts = new Map<string, { waiting: number; reanalysis: number }>();
    const tally = (flat: string[] | undefined, reanalysis: boolean) => {
      for (let i = 0; i + 1 < (flat?.length ?? 0); i += 2) {
        const entry = counts.get(flat?.[i] as string) ?? { waiting: 0, reanalysis: 0 };
        const n = Number(flat?.[i + 1]);
        entry.waiting += n;
        if (reanalysis) entry.reanalysis += n;
        counts.set(flat?.[i] as string, entry);
      }
    };
    tally(uploads, false);
    tally(reanalyses, true);
    const ranked = [...counts.entries()].sort((a, b) => b[1].waiting - a[1].waiting).slice(0, top);
    const weights = ranked.length ? await this.redis.hmget(this.weightsKey, ...ranked.map(([userId]) => userId)) : [];
    return ranked.map(([userId, count], i) => ({ userId, ...count, weight: Number(weights[i] ?? 1) || 1 }));
  }

  /** One user's waiting jobs and weight. */
  async backlogOf(userId: string): Promise<UserBacklog> {
    const [uploads, reanalyses, weight] = await Promise.all([
      this.redis.zscore(this.laneKey("upload", "backlog"), userId),
      this.redis.zscore(this.laneKey("reanalysis", "backlog"), userId),
      this.redis.hget(this.weightsKey, userId),
    ]);
    const reanalysis = Number(reanalyses ?? 0);
    return { userId, waiting: Number(uploads ?? 0) + reanalysis, reanalysis, weight: Number(weight ?? 1) || 1 };
  }

  /** A user's share of each round (MIN_WEIGHT..MAX_WEIGHT; null: back to 1); applies to jobs queued from now on. */
  async setWeight(userId: string, weight: number | null): Promise<void> {
    if (weight === null || weight === 1) await this.redis.hdel(this.weightsKey, userId);
    else await this.redis.hset(this.weightsKey, userId, String(Math.min(MAX_WEIGHT, Math.max(MIN_WEIGHT, weight))));
  }

  private get weightsKey(): string {
    return `${this.base}:weights`;
  }

  private laneKey(lane: FairLane, name: string): string {
    return `${this.base}:${lane}:${name}`;
  }

  private keys(userId: string, lane: FairLane): [string, string, string, string] {
    return [this.laneKey(lane, `u:${userId}`), this.laneKey(lane, "clock"), this.laneKey(lane, "backlog"), this.laneKey(lane, "epochs")];
  }
}
