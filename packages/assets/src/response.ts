/** Serialises a stored Asset through the wire schema, so every response has the documented shape. */
import { type AssetResponse, assetResponseSchema } from "@pipeline/contracts/asset";
import type { AssetDoc } from "./model.ts";

export function toAssetResponse(asset: AssetDoc): AssetResponse {
  const id = asset._id.toHexString();
  const meta = asset.aiMetadata;
  return assetResponseSchema.parse({
    id,
    _id: id,
    userId: asset.userId.toHexString(),
    category: asset.category,
    status: asset.status,
    images: {
      ...(asset.images?.original?.url ? { original: { url: asset.images.original.url } } : {}),
      ...(asset.images?.processed?.url ? { processed: { url: asset.images.processed.url } } : {}),
    },
    ...(meta && Object.keys(meta).length
      ? {
          aiMetadata: {
            ...(meta.brand ? { brand: meta.brand } : {}),
            ...(meta.model ? { model: meta.model } : {}),
            ...(meta.colorway ? { colorway: meta.colorway } : {}),
            ...(meta.processedAt ? { processedAt: meta.processedAt.toISOString() } : {}),
            ...(meta.error ? { error: meta.error } : {}),
          },
        }
      : {}),
    ...(asset.processingJobId ? { processingJobId: asset.processingJobId } : {}),
    createdAt: asset.createdAt.toISOString(),
    updatedAt: asset.updatedAt.toISOString(),
  });
}
