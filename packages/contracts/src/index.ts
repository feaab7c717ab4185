/** The wire contracts, zod only: safe to import from a browser or a client SDK. */
export * from "./admin.ts";
export * from "./asset.ts";
export * from "./asyncapi.ts";
export * from "./errors.ts";
export * from "./events.ts";
export * from "./jobs.ts";
export * from "./webhooks.ts";
