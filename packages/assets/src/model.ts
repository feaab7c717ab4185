/**
 * The Asset as both store adapters keep it (the README's data model). Besides
 * the specification's fields it keeps `category` (needed to queue the job
 * again on retry) and timestamps (newest-first listing, `updatedSince`
 * catch-up). An adapter may keep fields of its own beside these; none is
 * ever sent to clients (response.ts).
 */
import type { AssetStatus, Category, Detection, MetadataSource, ReanalysisState } from "@pipeline/contracts/asset";
import type { ObjectId } from "mongodb";

export const ASSETS_COLLECTION = "assets";

export interface AssetDoc {
  _id: ObjectId;
  userId: ObjectId;
  category: Category;
  status: AssetStatus;
  images: { original?: { url?: string }; processed?: { url?: string } };
  aiMetadata?: { brand?: Detection; model?: Detection; colorway?: Detection; processedAt?: Date; error?: string; source?: MetadataSource };
  processingJobId?: string;
  /** The latest re-analysis of an Asset that had results (see the state machine's reanalyze). */
  reanalysis?: Omit<ReanalysisState, "requestedAt" | "finishedAt"> & { requestedAt: Date; finishedAt?: Date };
  createdAt: Date;
  updatedAt: Date;
}
