/**
 * The page's state: one Item per card (a server Asset, or an upload not
 * answered yet), how an Asset or an event becomes an Item, and the words
 * that describe one. No DOM here.
 */
import type { AssetProcessedEvent, AssetResponse } from "@pipeline/client";

type Detection = { value: string | null; confidence: number };

/** One card of the list: a server Asset, or an upload not answered yet (key `local-<n>`). */
export interface Item {
  key: string;
  status: string;
  category: string;
  createdAt: string;
  filename?: string;
  originalUrl?: string;
  processedUrl?: string;
  brand?: Detection;
  model?: Detection;
  colorway?: Detection;
  /** The confidences are a hosted model's own estimate, not calibrated on the evaluation set. */
  estimated?: boolean;
  error?: string;
  /** Still uploading (no asset id yet). */
  uploading?: boolean;
  /** The upload itself was refused: nothing to retry on the server. */
  refused?: boolean;
  /** A retry request is in flight. */
  retrying?: boolean;
  /** The stage a processing run reported last (`asset_progress`). */
  stage?: string;
  /** A delete request is in flight. */
  deleting?: boolean;
}

/** Every card shown, by key. */
export const items = new Map<string, Item>();

let localCount = 0;
/** The key of an upload until the server names its Asset. */
export const nextLocalKey = () => `local-${++localCount}`;

const CATEGORY_LABELS: Record<string, string> = { sneaker: "Sneaker", lego: "LEGO set", camera: "Camera", other: "Other" };

export function fromAsset(asset: AssetResponse, previous?: Item): Item {
  const item: Item = {
    key: asset.id,
    status: asset.status,
    category: asset.category,
    createdAt: asset.createdAt,
    ...(previous?.filename ? { filename: previous.filename } : {}),
  };
  const originalUrl = asset.images.original?.url ?? previous?.originalUrl;
  if (originalUrl) item.originalUrl = originalUrl;
  if (asset.images.processed?.url) item.processedUrl = asset.images.processed.url;
  const metadata = asset.aiMetadata;
  if (metadata?.brand) item.brand = metadata.brand;
  if (metadata?.model) item.model = metadata.model;
  if (metadata?.colorway) item.colorway = metadata.colorway;
  if (metadata?.source) item.estimated = !metadata.source.calibrated;
  if (asset.status === "failed" && metadata?.error) item.error = metadata.error;
  return item;
}

/** The item once its run's outcome arrived. */
export function withOutcome(item: Item, event: AssetProcessedEvent): Item {
  const next: Item = { ...item, status: event.status, retrying: false };
  if (event.status === "active") {
    next.processedUrl = event.processedImageUrl;
    next.brand = event.aiMetadata.brand;
    next.model = event.aiMetadata.model;
    next.colorway = event.aiMetadata.colorway;
    delete next.error;
  } else {
    next.error = event.error;
  }
  return next;
}

export function titleOf(item: Item): string {
  const category = CATEGORY_LABELS[item.category] ?? item.category;
  return `${category}: ${item.filename ?? new Date(item.createdAt).toLocaleString()}`;
}

export function describeOutcome(item: Item): string {
  if (item.status === "active") {
    const found = [item.brand?.value, item.model?.value, item.colorway?.value].filter(Boolean).join(", ");
    return `${titleOf(item)} is active${found ? `: ${found}` : ""}.`;
  }
  if (item.status === "failed") return `${titleOf(item)} failed: ${item.error ?? "unknown reason"}.`;
  return `${titleOf(item)} is ${item.status}.`;
}

export const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));
