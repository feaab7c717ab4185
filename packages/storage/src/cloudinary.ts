/**
 * Cloudinary storage: images go up through the official SDK's signed upload
 * API (one folder per kind) and are kept as the asset's `secure_url`; they
 * are read back over HTTP from the delivery host.
 *
 * Delivery base: `https://res.cloudinary.com/<cloud>/image/upload/` by
 * default. When `CLOUDINARY_UPLOAD_PREFIX` is set (only to reach a stand-in
 * server, which serves uploads and deliveries from one origin, over plain
 * HTTP), the delivery base moves to that origin too; `deliveryUrl` overrides
 * both for code that needs another host (a CNAME, a regional API prefix).
 *
 * Removal goes through the SDK's signed destroy API, with the public_id read
 * back from the kept URL: nothing else needs to be stored per image.
 */
import http from "node:http";
import https from "node:https";
import { errorForStatus, PermanentError, TransientError } from "@pipeline/runtime/errors";
import type { UploadApiErrorResponse, UploadApiResponse } from "cloudinary";
import type { StorageConfig } from "./config.ts";
import type { ImageKind, ImageStorage, SaveOptions } from "./types.ts";

export const DEFAULT_DELIVERY_URL = "https://res.cloudinary.com";

export type SignatureAlgorithm = "sha1" | "sha256";

export interface CloudinaryCredentials {
  cloudName: string;
  apiKey: string;
  apiSecret: string;
  /** The account's upload signature algorithm (`?signature_algorithm=sha256` in CLOUDINARY_URL); SHA-1 when absent. */
  signatureAlgorithm?: SignatureAlgorithm;
}

export interface CloudinaryOptions extends CloudinaryCredentials {
  /** API base (the SDK's upload_prefix); Cloudinary's own when absent. */
  uploadPrefix?: string;
  /** Origin of delivery URLs; defaults to the upload prefix when one is set, else res.cloudinary.com. */
  deliveryUrl?: string;
  fetch?: typeof fetch;
}

const FOLDERS: Record<ImageKind, string> = { original: "originals", processed: "processed" };
const UPLOADABLE_TYPES = new Set(["image/png", "image/jpeg", "image/webp"]);
/** Statuses Cloudinary's SDK reports that are worth a retry although `errorForStatus` calls them permanent. */
const RETRYABLE_API_CODES = new Set([
  420, // Cloudinary's "rate limited"
  499, // the SDK's own request timeout
]);

/** Splits cloudinary://<api_key>:<api_secret>@<cloud_name>[?signature_algorithm=sha256]. */
export function parseCloudinaryUrl(value: string): CloudinaryCredentials {
  const url = new URL(value);
  if (url.protocol !== "cloudinary:" || !url.username || !url.password || !url.hostname) {
    throw new Error("CLOUDINARY_URL must be cloudinary://<api_key>:<api_secret>@<cloud_name>");
  }
  const algorithm = url.searchParams.get("signature_algorithm");
  if (algorithm !== null && algorithm !== "sha1" && algorithm !== "sha256") {
    throw new Error(`CLOUDINARY_URL: unsupported signature_algorithm ${algorithm}`);
  }
  return {
    cloudName: url.hostname,
    apiKey: decodeURIComponent(url.username),
    apiSecret: decodeURIComponent(url.password),
    ...(algorithm ? { signatureAlgorithm: algorithm } : {}),
  };
}

/** The storage's options from the environment's configuration. */
export function cloudinaryOptionsFromConfig(config: Pick<StorageConfig, "CLOUDINARY_URL" | "CLOUDINARY_UPLOAD_PREFIX">): CloudinaryOptions {
  if (!config.CLOUDINARY_URL) throw new Error("STORAGE=cloudinary needs CLOUDINARY_URL");
  return { ...parseCloudinaryUrl(config.CLOUDINARY_URL), uploadPrefix: config.CLOUDINARY_UPLOAD_PREFIX };
}

export class CloudinaryStorage implements ImageStorage {
  readonly name = "cloudinary" as const;
  /** Every URL this storage hands out starts with it: `<delivery origin>/<cloud>/image/upload/`. */
  readonly deliveryBase: string;
  readonly plainHttpBase?: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: CloudinaryOptions) {
    const origin = options.deliveryUrl ?? options.uploadPrefix ?? DEFAULT_DELIVERY_URL;
    this.deliveryBase = `${origin.replace(/\/+$/, "")}/${options.cloudName}/image/upload/`;
    if (this.deliveryBase.startsWith("http://")) this.plainHttpBase = this.deliveryBase;
    this.fetch = options.fetch ?? fetch;
  }

  async save(bytes: Uint8Array, { kind, contentType, signal }: SaveOptions): Promise<{ url: string }> {
    if (!UPLOADABLE_TYPES.has(contentType)) throw new PermanentError(`cannot store content type ${contentType}`);
    const result = await this.upload(bytes, FOLDERS[kind], signal);
    // A URL we would later refuse to load means the delivery base is misconfigured: say so now.
    if (!this.owns(result.secure_url)) {
      throw new PermanentError(`cloudinary returned ${result.secure_url}, outside the delivery base ${this.deliveryBase}`);
    }
    return { url: result.secure_url };
  }

  owns(url: string): boolean {
    // Compare the parsed form, so dot segments cannot climb out of the cloud's upload folder.
    return URL.canParse(url) && new URL(url).href.startsWith(this.deliveryBase);
  }

  /**
   * The public_id a delivery URL of ours names (`[v<version>/]<public_id>.<ext>`
   * under the delivery base), null for any other URL.
   */
  publicIdOf(url: string): string | null {
    if (!this.owns(url)) return null;
    const parsed = new URL(url);
    parsed.search = parsed.hash = "";
    const path = parsed.href
      .slice(this.deliveryBase.length)
      .replace(/^v\d+\//, "")
      .replace(/\.[A-Za-z0-9]+$/, "");
    try {
      // Cloudinary escapes the public_id in the URLs it returns; the API wants it as uploaded.
      return path ? decodeURIComponent(path) : null;
    } catch {
      return null;
    }
  }

  async remove(url: string, signal?: AbortSignal): Promise<boolean> {
    const publicId = this.publicIdOf(url);
    if (!publicId) throw new PermanentError(`not a URL of this storage: ${url}`);
    const { uploader } = await loadSdk();
    // invalidate: the CDN would otherwise go on serving its cached copy of the deleted image.
    const result: unknown = await this.callApi("destroy", signal, (options, done) =>
      uploader.destroy(publicId, { ...options, resource_type: "image", invalidate: true }, done),
    );
    const outcome = (result as { result?: unknown } | undefined)?.result;
    if (outcome === "ok") return true;
    if (outcome === "not found") return false;
    throw new PermanentError(`cloudinary destroy of ${publicId} answered ${JSON.stringify(result)}`);
  }

  async load(url: string, signal?: AbortSignal): Promise<Uint8Array> {
    if (!this.owns(url)) throw new PermanentError(`not a URL of this storage: ${url}`);
    const response = await this.fetch(url, { signal }).catch((error: unknown) => {
      throw downloadFailure(error);
    });
    if (!response.ok) {
      await response.body?.cancel();
      // The delivery host puts its reason in X-Cld-Error, not in the body.
      throw errorForStatus("cloudinary download", response.status, response.headers.get("x-cld-error") ?? "");
    }
    return response.bytes().catch((error: unknown) => {
      throw downloadFailure(error);
    });
  }

  /** One signed upload through the SDK, streamed. */
  private async upload(bytes: Uint8Array, folder: string, signal?: AbortSignal): Promise<UploadApiResponse> {
    const { uploader } = await loadSdk();
    return this.callApi<UploadApiResponse>("upload", signal, (options, done) => {
      const stream = uploader.upload_stream({ ...options, folder, resource_type: "image" }, done);
      stream.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    });
  }

  /**
   * Runs one SDK call with this storage's options and turns its callback into
   * a promise, classifying failures. The SDK takes no AbortSignal, so each call
   * gets its own agent: destroying it on abort closes the request's socket.
   */
  private callApi<T>(action: string, signal: AbortSignal | undefined, start: (options: ApiOptions, done: SdkCallback<T>) => void): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortError(action, signal));
    const agent = this.newAgent();
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        reject(abortError(action, signal!));
        agent.destroy();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      start({ ...this.apiOptions(), agent }, (error, result) => {
        signal?.removeEventListener("abort", onAbort);
        agent.destroy();
        if (error) reject(apiFailure(action, error));
        else if (result) resolve(result);
        else reject(new TransientError(`cloudinary ${action} returned no result`));
      });
    });
  }

  /** Per-call SDK options: nothing goes through the SDK's process-wide config. */
  private apiOptions() {
    const { cloudName, apiKey, apiSecret, signatureAlgorithm, uploadPrefix } = this.options;
    return {
      cloud_name: cloudName,
      api_key: apiKey,
      api_secret: apiSecret,
      ...(signatureAlgorithm ? { signature_algorithm: signatureAlgorithm } : {}),
      ...(uploadPrefix ? { upload_prefix: uploadPrefix.replace(/\/+$/, "") } : {}),
      // Results come through the callback; the SDK's own promise would only ever reject unobserved.
      disable_promises: true,
    };
  }

  /**
   * The SDK chooses http or https once, at import, from its global config; an
   * agent of the prefix's own protocol makes an http:// upload_prefix work as well.
   */
  private newAgent(): http.Agent {
    return this.options.uploadPrefix?.startsWith("http:") ? new http.Agent() : new https.Agent();
  }
}

type ApiOptions = ReturnType<CloudinaryStorage["apiOptions"]> & { agent: http.Agent };
/** The SDK's (v2) callback, error first; `apiFailure` classifies the error. */
type SdkCallback<T> = (error?: UploadApiErrorResponse | Error, result?: T) => void;

/** The SDK is loaded on first use: services that run with local storage never pay for it. */
let sdk: Promise<typeof import("cloudinary").v2> | undefined;
function loadSdk() {
  sdk ??= import("cloudinary").then((module) => module.v2);
  return sdk;
}

/** Classifies what the SDK reports: an object with `http_code` for HTTP answers, a plain Error for network failures. */
function apiFailure(action: string, error: UploadApiErrorResponse | Error): Error {
  const code = "http_code" in error ? error.http_code : undefined;
  if (typeof code !== "number") {
    return new TransientError(`cloudinary ${action} failed: ${error.message}`, { cause: error });
  }
  if (RETRYABLE_API_CODES.has(code)) {
    return new TransientError(`cloudinary ${action} answered ${code}: ${error.message}`, { cause: error });
  }
  return errorForStatus(`cloudinary ${action}`, code, error.message);
}

/** Network failure, or the signal fired (the job's timeout): worth another try. */
function downloadFailure(error: unknown): TransientError {
  return new TransientError(`cloudinary download failed: ${messageOf(error)}`, { cause: error });
}

function abortError(action: string, signal: AbortSignal): TransientError {
  return new TransientError(`cloudinary ${action} aborted: ${messageOf(signal.reason)}`, { cause: signal.reason });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
