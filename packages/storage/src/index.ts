export * from "./types.ts";
export { LocalStorage, MEDIA_NAME, mediaBaseUrl } from "./local.ts";
export {
  CloudinaryStorage,
  DEFAULT_DELIVERY_URL,
  cloudinaryOptionsFromConfig,
  parseCloudinaryUrl,
  type CloudinaryCredentials,
  type CloudinaryOptions,
  type SignatureAlgorithm,
} from "./cloudinary.ts";
export { storageConfigSchema, type StorageConfig } from "./config.ts";
export { createStorage } from "./factory.ts";
