/** Picks the storage backend from configuration (`STORAGE`). */
import { CloudinaryStorage } from "./cloudinary.ts";
import { cloudinaryOptionsFromConfig } from "./cloudinary-config.ts";
import type { StorageConfig } from "./config.ts";
import { LocalStorage } from "./local.ts";
import type { ImageStorage } from "./types.ts";

function defaultStorageDir(): string {
  // <repo>/.data/media, the same for every service started from this checkout.
  return new URL("../../../.data/media", import.meta.url).pathname;
}

export function createStorage(config: StorageConfig): ImageStorage {
  switch (config.STORAGE) {
    case "local":
      return new LocalStorage(config.STORAGE_DIR ?? defaultStorageDir(), config.PUBLIC_URL);
    case "cloudinary":
      return new CloudinaryStorage(cloudinaryOptionsFromConfig(config));
  }
}
