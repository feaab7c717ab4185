export { type CloudinaryOptions, CloudinaryStorage, type DeliveryPath } from "./cloudinary.ts";
export {
  type CloudinaryAccount,
  type CloudinaryCredentials,
  type CloudinaryDelivery,
  cloudinaryOptionsFromConfig,
  deliveryPrefix,
  parseCloudinaryUrl,
  type SignatureAlgorithm,
} from "./cloudinary-config.ts";
export {
  CloudinaryRateLimitError,
  cloudinaryFailure,
  DEFAULT_RATE_LIMIT_POLICY,
  deliveryFailure,
  type RateLimitPolicy,
  retryAfterMs,
  withRateLimitRetry,
} from "./cloudinary-errors.ts";
export { type StorageConfig, storageConfigSchema } from "./config.ts";
export { createStorage } from "./factory.ts";
export { LocalStorage, MEDIA_NAME, mediaBaseUrl } from "./local.ts";
export * from "./types.ts";
