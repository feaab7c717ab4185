/** Webhooks: the target guard, Standard Webhooks signing, one delivery attempt, and the store of webhooks and deliveries (an adapter per dialect). */
export * from "./config.ts";
export * from "./owners.ts";
export * from "./repository.ts";
export * from "./response.ts";
export * from "./send.ts";
export * from "./signing.ts";
export * from "./ssrf.ts";
export * from "./store.ts";
