/**
 * The worker's Asset writes. Every write is conditional on the Asset still
 * being `processing` under this job's id, so a late or duplicate run can never
 * overwrite a newer state.
 */
import type { AssetDoc, AssetModel, ExtractedMetadata } from "@pipeline/contracts";
import { Types } from "mongoose";

export class WorkerAssetRepository {
  constructor(private readonly assets: AssetModel) {}

  findById(assetId: string): Promise<AssetDoc | null> {
    return this.assets.findById(assetId).lean<AssetDoc>().exec();
  }

  /** True when this run set the Asset `active`; false when it was no longer this job's to finish. */
  async markActive(assetId: string, jobId: string, result: { processedUrl: string; metadata: ExtractedMetadata }): Promise<boolean> {
    const outcome = await this.assets
      .updateOne(
        { _id: assetId, status: "processing", processingJobId: jobId },
        {
          $set: {
            status: "active",
            "images.processed.url": result.processedUrl,
            "aiMetadata.brand": result.metadata.brand,
            "aiMetadata.model": result.metadata.model,
            "aiMetadata.colorway": result.metadata.colorway,
            "aiMetadata.processedAt": new Date(),
          },
          $unset: { "aiMetadata.error": "" },
        },
      )
      .exec();
    return outcome.modifiedCount === 1;
  }

  /**
   * True when this run set the Asset `failed`. `jobId` null matches an Asset
   * whose job id is this one or unset (job data too broken to trust its id).
   */
  async markFailed(assetId: string, jobId: string, reason: string): Promise<boolean> {
    if (!Types.ObjectId.isValid(assetId)) return false;
    const outcome = await this.assets
      .updateOne(
        { _id: assetId, status: { $in: ["draft", "processing"] }, $or: [{ processingJobId: jobId }, { processingJobId: { $exists: false } }] },
        { $set: { status: "failed", "aiMetadata.error": reason, "aiMetadata.processedAt": new Date() } },
      )
      .exec();
    return outcome.modifiedCount === 1;
  }
}
