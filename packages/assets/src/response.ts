/**
 * Serialises a stored Asset through the wire schema, so every response has
 * the documented shape. Generic on purpose: a new field needs only the model
 * and the schema; the schema drops what clients must not see (a store adapter's own fields).
 */
import { type AssetResponse, assetResponseSchema } from "@pipeline/contracts/asset";
import type { AssetDoc } from "./model.ts";

export function toAssetResponse(asset: AssetDoc): AssetResponse {
  const json = (asJson(asset) ?? {}) as Record<string, unknown>;
  return assetResponseSchema.parse({ ...json, id: json._id, images: json.images ?? {} });
}

/** BSON values as JSON: ObjectIds as hex strings, dates as ISO strings; undefined and empty objects dropped, null kept. */
function asJson(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (isObjectId(value)) return value.toHexString();
  if (Array.isArray(value)) return value.map(asJson);
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value)
    .map(([key, item]) => [key, asJson(item)] as const)
    .filter(([, item]) => item !== undefined);
  return entries.length ? Object.fromEntries(entries) : undefined;
}

function isObjectId(value: unknown): value is { toHexString(): string } {
  return (value as { _bsontype?: unknown } | null)?._bsontype === "ObjectId";
}
