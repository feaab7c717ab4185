/**
 * In-memory stand-ins for the handler's injected dependencies (unit tests
 * only): no Redis, no MongoDB, no network.
 */
import type { AssetDoc } from "@pipeline/assets/model";
import { TRANSITIONS, type TransitionName } from "@pipeline/assets/state-machine";
import type { ActiveResult } from "@pipeline/assets/store";
import type { AssetStatus, Category, ExtractedMetadata, MetadataSource } from "@pipeline/contracts/asset";
import { type ClientEventJob, clientEventJobSchema } from "@pipeline/contracts/events";
import type { JobData } from "@pipeline/contracts/jobs";
import { type ClientMessage, eventIdOf, type FinalMessage, type WriteResult } from "@pipeline/messaging";
import { createLogger } from "@pipeline/runtime/logger";
import type { ImageStorage, SaveOptions } from "@pipeline/storage";
import type { Job } from "bullmq";
import { ObjectId } from "mongodb";
import { Registry } from "prom-client";
import { WorkerMetrics } from "../metrics.ts";
import { progressReporter } from "../progress.ts";
import type { AnalysisInput, BackgroundRemovalInput, BackgroundRemover, Cutout, MetadataAnalyzer } from "../providers.ts";
import type { ProcessAssetDeps } from "./process-asset.ts";

export const ORIGINAL_URL = "https://media.test/originals/photo.jpg";
export const PROCESSED_BASE = "https://media.test/processed/";
export const ORIGINAL_BYTES = new Uint8Array([0xff, 0xd8, 0xff, 0xe0]);
export const CUTOUT_BYTES = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
export const METADATA: ExtractedMetadata = {
  brand: { value: "Nike", confidence: 0.92 },
  model: { value: "Air Max 90", confidence: 0.81 },
  colorway: { value: "Red/White", confidence: 0.7 },
};

export function makeAsset(overrides: Partial<AssetDoc> = {}): AssetDoc {
  const _id = overrides._id ?? new ObjectId();
  const at = new Date("2024-05-01T10:00:00.000Z");
  return {
    _id,
    userId: new ObjectId(),
    category: "sneaker",
    status: "processing",
    images: { original: { url: ORIGINAL_URL } },
    processingJobId: _id.toHexString(),
    createdAt: at,
    updatedAt: at,
    ...overrides,
  } as AssetDoc;
}

/**
 * The repository's three worker-side methods with the same conditions as the
 * Mongo filters: the status must be in the transition's `from`, and the Asset
 * must name the acting job (markActive: exactly; markFailed: or name none).
 */
export class FakeAssetRepository {
  readonly assets = new Map<string, AssetDoc>();

  add(asset: AssetDoc): AssetDoc {
    this.assets.set(asset._id.toHexString(), copy(asset));
    return asset;
  }

  get(id: string): AssetDoc | undefined {
    return this.assets.get(id);
  }

  async findById(id: string): Promise<AssetDoc | null> {
    const asset = this.assets.get(id);
    return asset ? copy(asset) : null;
  }

  async markActive(assetId: string, jobId: string, result: ActiveResult): Promise<AssetDoc | null> {
    const asset = this.assets.get(assetId);
    if (!asset || !allows("complete", asset.status) || asset.processingJobId !== jobId) return null;
    const now = new Date();
    asset.status = TRANSITIONS.complete.to;
    asset.images = { ...asset.images, processed: { url: result.processedUrl } };
    asset.aiMetadata = { ...result.metadata, source: result.source, processedAt: now };
    asset.updatedAt = now;
    return copy(asset);
  }

  async markReanalyzed(assetId: string, jobId: string, result: ActiveResult): Promise<AssetDoc | null> {
    const asset = this.reanalysisOf(assetId, jobId, "reanalyzed");
    if (!asset) return null;
    const now = new Date();
    asset.images = { ...asset.images, processed: { url: result.processedUrl } };
    asset.aiMetadata = { ...result.metadata, source: result.source, processedAt: now };
    asset.reanalysis = { jobId, state: "completed", requestedAt: asset.reanalysis?.requestedAt ?? now, finishedAt: now };
    asset.updatedAt = now;
    return copy(asset);
  }

  async markReanalysisFailed(assetId: string, jobId: string, reason: string): Promise<AssetDoc | null> {
    const asset = this.reanalysisOf(assetId, jobId, "reanalysisFailed");
    if (!asset) return null;
    const now = new Date();
    asset.reanalysis = { jobId, state: "failed", requestedAt: asset.reanalysis?.requestedAt ?? now, finishedAt: now, error: reason };
    asset.updatedAt = now;
    return copy(asset);
  }

  /** The Asset while it names re-analysis run `jobId`, still queued, in a status `name` allows. */
  private reanalysisOf(assetId: string, jobId: string, name: TransitionName): AssetDoc | null {
    const asset = this.assets.get(assetId);
    if (!asset || !allows(name, asset.status) || asset.processingJobId !== jobId) return null;
    return asset.reanalysis?.jobId === jobId && asset.reanalysis.state === "queued" ? asset : null;
  }

  async markFailed(assetId: string, jobId: string, reason: string): Promise<AssetDoc | null> {
    const asset = this.assets.get(assetId);
    if (!asset || !allows("fail", asset.status)) return null;
    if (asset.processingJobId && asset.processingJobId !== jobId) return null;
    const now = new Date();
    asset.status = TRANSITIONS.fail.to;
    asset.aiMetadata = { ...asset.aiMetadata, error: reason, processedAt: now };
    asset.updatedAt = now;
    return copy(asset);
  }
}

/** A copy the caller may keep: the writes below replace top-level fields, never mutate nested ones, so shallow is enough. */
const copy = (asset: AssetDoc): AssetDoc => ({ ...asset });

function allows(name: TransitionName, status: AssetStatus | null | undefined): boolean {
  return (TRANSITIONS[name].from as readonly (AssetStatus | null | undefined)[]).includes(status);
}

/** Records each final event with its id after checking it against the client-event map, as the real emitter does. */
export class FakeEvents {
  readonly published: { job: ClientEventJob; jobId: string }[] = [];
  /** Errors the next publishes throw, one each (the outcome queue unreachable). */
  readonly failures: Error[] = [];

  async emit(message: ClientMessage): Promise<undefined> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.published.push({ job: clientEventJobSchema.parse(message), jobId: eventIdOf(message as FinalMessage) });
    return undefined;
  }
}

export class FakeStorage implements ImageStorage {
  readonly name = "local" as const;
  readonly saved: { bytes: Uint8Array; options: SaveOptions }[] = [];
  readonly loaded: string[] = [];
  readonly removed: string[] = [];

  owns(url: string): boolean {
    return url.startsWith("https://media.test/");
  }

  async load(url: string): Promise<Uint8Array> {
    this.loaded.push(url);
    return ORIGINAL_BYTES;
  }

  async save(bytes: Uint8Array, options: SaveOptions): Promise<{ url: string }> {
    this.saved.push({ bytes, options });
    return { url: `${PROCESSED_BASE}${this.saved.length}.png` };
  }

  async remove(url: string): Promise<boolean> {
    this.removed.push(url);
    return true;
  }
}

export class FakeRemover implements BackgroundRemover {
  readonly name = "fake-remover";
  readonly calls: BackgroundRemovalInput[] = [];
  constructor(private readonly behaviour: (input: BackgroundRemovalInput) => Promise<Uint8Array> = async () => CUTOUT_BYTES) {}

  async remove(input: BackgroundRemovalInput): Promise<Cutout> {
    this.calls.push(input);
    return { png: await this.behaviour(input) };
  }
}

export class FakeAnalyzer implements MetadataAnalyzer {
  readonly name = "fake-analyzer";
  readonly source: MetadataSource = { analyzer: "openai", model: "fake-model", calibrated: false };
  readonly calls: AnalysisInput[] = [];
  constructor(private readonly behaviour: () => Promise<ExtractedMetadata> = async () => METADATA) {}

  analyze(input: AnalysisInput): Promise<ExtractedMetadata> {
    this.calls.push(input);
    return this.behaviour();
  }
}

/** A remover that never finishes on its own: it rejects with the signal's reason once the attempt is aborted. */
export function removerWaitingOnSignal(): FakeRemover {
  return new FakeRemover(
    ({ signal }) =>
      new Promise<Uint8Array>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      }),
  );
}

/** Progress reports as they would reach the sockets' stream. */
export class FakeProgressStream {
  readonly emitted: ClientEventJob[] = [];
  async emit(message: ClientMessage): Promise<WriteResult> {
    this.emitted.push(clientEventJobSchema.parse(message));
    return { status: "written", offset: `${this.emitted.length}-0` };
  }
}

export interface TestDeps extends ProcessAssetDeps {
  progressStream: FakeProgressStream;
  repository: FakeAssetRepository;
  storage: FakeStorage;
  remover: FakeRemover;
  analyzer: FakeAnalyzer;
  events: FakeEvents;
  registry: Registry;
}

export function makeDeps(overrides: Partial<TestDeps> = {}): TestDeps {
  const registry = overrides.registry ?? new Registry();
  const progressStream = overrides.progressStream ?? new FakeProgressStream();
  return {
    progressStream,
    progress: progressReporter(progressStream),
    repository: new FakeAssetRepository(),
    storage: new FakeStorage(),
    remover: new FakeRemover(),
    analyzer: new FakeAnalyzer(),
    events: new FakeEvents(),
    metrics: new WorkerMetrics(registry),
    logger: createLogger("ai-worker-test", "silent"),
    timeoutMs: 5_000,
    registry,
    ...overrides,
  };
}

export function jobDataFor(asset: AssetDoc, overrides: Partial<Record<keyof JobData, unknown>> = {}): JobData {
  return {
    assetId: asset._id.toHexString(),
    userId: asset.userId.toHexString(),
    imageUrl: asset.images?.original?.url ?? ORIGINAL_URL,
    category: asset.category as Category,
    createdAt: asset.createdAt.toISOString(),
    attempt: 0,
    ...overrides,
  } as JobData;
}

/** The fields of a BullMQ Job that the handler reads or calls, recording the calls. */
export interface FakeJob {
  id: string;
  data: JobData;
  attemptsMade: number;
  /** Runs started, hand-backs included (BullMQ counts them; attemptsMade does not). */
  attemptsStarted: number;
  opts: { attempts: number };
  /** When the job was queued (ms since the epoch). */
  timestamp: number;
  updates: JobData[];
  delayedTo: { timestamp: number; token: string | undefined }[];
  updateData(data: JobData): Promise<void>;
  moveToDelayed(timestamp: number, token?: string): Promise<void>;
}

export function makeJob(init: { id: string; data: JobData; attemptsMade?: number; attemptsStarted?: number; attempts?: number; timestamp?: number }): FakeJob {
  const job: FakeJob = {
    id: init.id,
    data: init.data,
    attemptsMade: init.attemptsMade ?? 0,
    attemptsStarted: init.attemptsStarted ?? (init.attemptsMade ?? 0) + 1,
    opts: { attempts: init.attempts ?? 3 },
    timestamp: init.timestamp ?? Date.now(),
    updates: [],
    delayedTo: [],
    async updateData(data) {
      job.updates.push(data);
      job.data = data;
    },
    async moveToDelayed(timestamp, token) {
      job.delayedTo.push({ timestamp, token });
    },
  };
  return job;
}

/** The fake seen as what the handler is typed to take. */
export const asBullJob = (job: FakeJob) => job as unknown as Job<JobData>;

/** Jobs counted by `ai_jobs_total`, by outcome. */
export async function jobCounts(deps: TestDeps): Promise<Record<string, number>> {
  const { values } = await deps.metrics.jobs.get();
  return Object.fromEntries(values.map((v) => [String(v.labels.outcome), v.value]));
}

/** The rejection of `promise` (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject, but it resolved");
}
