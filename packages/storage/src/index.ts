export {
  type CloudinaryCredentials,
  type CloudinaryOptions,
  CloudinaryStorage,
  cloudinaryOptionsFromConfig,
  DEFAULT_DELIVERY_URL,
  parseCloudinaryUrl,
  type SignatureAlgorithm,
} from "./cloudinary.ts";
export { type StorageConfig, storageConfigSchema } from "./config.ts";
export { createStorage } from "./factory.ts";
export { LocalStorage, MEDIA_NAME, mediaBaseUrl } from "./local.ts";
export * from "./types.ts";
