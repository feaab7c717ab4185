import { describe, expect, test } from "bun:test";
import { MongoClient, ObjectId } from "mongodb";
import mongoose from "mongoose";
import { newAssetDoc } from "./collection.ts";
import { assetModel, assetSchema } from "./model.ts";

// An unopened connection: the model validates documents without a server.
const Asset = assetModel(mongoose.createConnection());
const created = newAssetDoc(
  { id: new ObjectId(), userId: new ObjectId().toHexString(), category: "lego", originalUrl: "https://images.test/a.jpg", jobId: "job-1" },
  new Date(),
);

describe("the Asset's mongoose schema", () => {
  test("mongoose runs on the workspace's mongodb driver: the stores' ObjectId and client are its own", () => {
    expect(mongoose.mongo.ObjectId).toBe(ObjectId);
    expect(mongoose.mongo.MongoClient).toBe(MongoClient);
  });

  test("declares no index and lets mongoose create nothing: the adapters' index sync is the one path", () => {
    expect(assetSchema.indexes()).toEqual([]);
    expect(assetSchema.get("autoIndex")).toBe(false);
    expect(assetSchema.get("autoCreate")).toBe(false);
  });

  test("accepts the document the stores create, and a completed one", () => {
    expect(new Asset(created).validateSync()).toBeUndefined();
    const detection = { value: "LEGO", confidence: 0.9 };
    const completed = {
      ...created,
      status: "active",
      images: { ...created.images, processed: { url: "https://images.test/a.png" } },
      aiMetadata: {
        brand: detection,
        model: detection,
        colorway: { value: null, confidence: 0 },
        processedAt: new Date(),
        source: { analyzer: "local", calibrated: false },
      },
    };
    expect(new Asset(completed).validateSync()).toBeUndefined();
  });

  test("refuses a status, category or confidence outside the contracts", () => {
    const errors =
      new Asset({ ...created, status: "done", category: "car", aiMetadata: { brand: { value: "x", confidence: 2 } } }).validateSync()?.errors ?? {};
    expect(Object.keys(errors).sort()).toEqual(["aiMetadata.brand.confidence", "category", "status"]);
  });

  test("a new Asset without a status is a draft", () => {
    expect(new Asset({ userId: new ObjectId(), category: "other" }).status).toBe("draft");
  });
});
