/** The Asset as clients see it: ids as strings, dates as ISO strings. */
import type { AssetDoc } from "@pipeline/contracts";

export function assetJson(asset: AssetDoc) {
  const id = asset._id.toHexString();
  return {
    _id: id,
    id,
    userId: asset.userId.toHexString(),
    category: asset.category,
    status: asset.status,
    images: asset.images ?? {},
    aiMetadata: asset.aiMetadata ?? undefined,
    processingJobId: asset.processingJobId ?? undefined,
    createdAt: asset.createdAt?.toISOString(),
    updatedAt: asset.updatedAt?.toISOString(),
  };
}
