/**
 * Cloudinary storage: images go up through the official SDK's signed upload
 * API under a public_id of ours (`originals/<id>`, `processed/<id>`), and the
 * URL kept is the one the SDK's `url()` builds for that public_id on the
 * account's delivery host (CLOUDINARY_URL's secure_distribution, private_cdn,
 * cname; see cloudinary-config.ts). An upload's answer is recognised as ours
 * by its public_id, resource type and delivery type, not by the host of its
 * secure_url, which depends on account settings we cannot see.
 *
 * Derived images (a transformation of a stored one) get signed delivery URLs
 * (`s--<signature>--`), so they work on accounts with Strict Transformations.
 * Removal goes through the SDK's signed destroy API, with the public_id read
 * back from the kept URL; destroying an image removes its derived images too.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import https from "node:https";
import { PermanentError, TransientError } from "@pipeline/runtime/errors";
import type { UploadApiErrorResponse, UploadApiResponse } from "cloudinary";
import { type CloudinaryAccount, deliveryPrefix } from "./cloudinary-config.ts";
import { cloudinaryFailure, DEFAULT_RATE_LIMIT_POLICY, deliveryFailure, type RateLimitPolicy, withRateLimitRetry } from "./cloudinary-errors.ts";
import type { ImageKind, ImageStorage, SaveOptions } from "./types.ts";

export interface CloudinaryOptions extends CloudinaryAccount {
  fetch?: typeof fetch;
  rateLimit?: RateLimitPolicy;
}

/** One of our delivery URLs, taken apart. */
export interface DeliveryPath {
  /** The `s--…--` component, when signed. */
  signature?: string;
  /** Transformation components, `/`-joined; empty for the stored image itself. */
  transformation: string;
  version?: string;
  publicId: string;
  format: string;
}

const FOLDERS: Record<ImageKind, string> = { original: "originals", processed: "processed" };
const UPLOADABLE_TYPES = new Set(["image/png", "image/jpeg", "image/webp"]);
/** `[s--sig--/][transformations/][v<version>/]<folder>/<id>.<ext>`: only public_ids in our folders are ours. */
const OUR_PATH = /^(?:(s--[A-Za-z0-9_-]{8}--|s--[A-Za-z0-9_-]{32}--)\/)?((?:[^/]+\/)*?)(?:v(\d+)\/)?((?:originals|processed)\/[^/]+)\.([A-Za-z0-9]+)$/;
/** One transformation component: comma-separated `<key>_<value>` parameters. */
const TRANSFORMATION = /^[a-z]{1,3}_[^,/]+(?:,[a-z]{1,3}_[^,/]+)*$/;

export class CloudinaryStorage implements ImageStorage {
  readonly name = "cloudinary" as const;
  /** Every URL this storage hands out starts with it: `<delivery prefix>/image/upload/`. */
  readonly deliveryBase: string;
  readonly plainHttpBase?: string;
  private readonly fetch: typeof fetch;
  private readonly rateLimit: RateLimitPolicy;

  constructor(private readonly options: CloudinaryOptions) {
    this.deliveryBase = `${deliveryPrefix(options)}/image/upload/`;
    // Only an operator's secure=false makes it plain HTTP (a stand-in without TLS).
    if (this.deliveryBase.startsWith("http://")) this.plainHttpBase = this.deliveryBase;
    this.fetch = options.fetch ?? fetch;
    this.rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT_POLICY;
  }

  async save(bytes: Uint8Array, { kind, contentType, signal }: SaveOptions): Promise<{ url: string }> {
    if (!UPLOADABLE_TYPES.has(contentType)) throw new PermanentError(`cannot store content type ${contentType}`);
    const publicId = `${FOLDERS[kind]}/${randomBytes(16).toString("hex")}`;
    const result = await this.upload(bytes, publicId, signal);
    if (result.public_id !== publicId || result.resource_type !== "image" || result.type !== "upload" || !result.format) {
      const got = `${result.resource_type}/${result.type} ${result.public_id}.${result.format}`;
      throw new PermanentError(`cloudinary stored the upload of ${publicId} as ${got}, not as asked`);
    }
    return { url: await this.urlFor(publicId, { version: String(result.version), format: result.format }) };
  }

  owns(url: string): boolean {
    return this.parse(url) !== null;
  }

  /** The public_id a delivery URL of ours names (signed, transformed or not), null for any other URL. */
  publicIdOf(url: string): string | null {
    return this.parse(url)?.publicId ?? null;
  }

  /**
   * The signed delivery URL of a transformation of one of our images, e.g.
   * `…/image/upload/s--<sig>--/e_background_removal/v1/originals/<id>.png`.
   * The signature covers the transformation and the public_id with the
   * extension, as Cloudinary checks it; it works with Strict Transformations on and off.
   */
  async derivedUrl(url: string, transformation: string, format: string): Promise<string> {
    const parsed = this.parse(url);
    if (!parsed || parsed.transformation) throw new PermanentError(`not a stored image of this storage: ${url}`);
    return this.urlFor(parsed.publicId, { ...(parsed.version ? { version: parsed.version } : {}), format, transformation });
  }

  async remove(url: string, signal?: AbortSignal): Promise<boolean> {
    const parsed = this.parse(url);
    if (!parsed) throw new PermanentError(`not a URL of this storage: ${url}`);
    // A derived image is not an asset of its own: it goes when its original is destroyed.
    if (parsed.transformation) return false;
    const { uploader } = await loadSdk();
    // invalidate: the CDN would otherwise go on serving its cached copy of the deleted image.
    const result: unknown = await this.callApi("destroy", signal, (options, done) =>
      uploader.destroy(parsed.publicId, { ...options, resource_type: "image", invalidate: true }, done),
    );
    const outcome = (result as { result?: unknown } | undefined)?.result;
    if (outcome === "ok") return true;
    if (outcome === "not found") return false;
    throw new PermanentError(`cloudinary destroy of ${parsed.publicId} answered ${JSON.stringify(result)}`);
  }

  async load(url: string, signal?: AbortSignal): Promise<Uint8Array> {
    const response = await this.fetchDelivery(url, signal);
    if (!response.ok) throw await deliveryFailure("download", response);
    return response.bytes().catch((error: unknown) => {
      throw downloadFailure(error);
    });
  }

  /**
   * GETs one of our delivery URLs (stored or derived), rate limits waited out;
   * any other answer is the caller's to read (a derived image's 423, say).
   */
  fetchDelivery(url: string, signal?: AbortSignal): Promise<Response> {
    if (!this.owns(url)) return Promise.reject(new PermanentError(`not a URL of this storage: ${url}`));
    return withRateLimitRetry(this.rateLimit, signal, async () => {
      const response = await this.fetch(url, { signal }).catch((error: unknown) => {
        throw downloadFailure(error);
      });
      if (response.status === 420 || response.status === 429) throw await deliveryFailure("download", response);
      return response;
    });
  }

  private parse(url: string): DeliveryPath | null {
    // The parsed form, so dot segments cannot climb out of the cloud's upload folder.
    const href = URL.canParse(url) ? new URL(url) : null;
    if (!href) return null;
    href.search = href.hash = "";
    if (!href.href.startsWith(this.deliveryBase)) return null;
    const match = OUR_PATH.exec(href.href.slice(this.deliveryBase.length));
    if (!match) return null;
    const [, signature, steps = "", version, escapedId, format] = match;
    const transformation = steps.replace(/\/$/, "");
    if (transformation && !transformation.split("/").every((step) => TRANSFORMATION.test(step))) return null;
    try {
      // Cloudinary escapes the public_id in its URLs; the API wants it as uploaded.
      const publicId = decodeURIComponent(escapedId!);
      return { ...(signature ? { signature } : {}), transformation, ...(version ? { version } : {}), publicId, format: format! };
    } catch {
      return null;
    }
  }

  /** A delivery URL built by the SDK on the account's delivery host; signed when it has a transformation. */
  private async urlFor(publicId: string, { version, format, transformation }: { version?: string; format: string; transformation?: string }): Promise<string> {
    const sdk = await loadSdk();
    const { cloudName, apiSecret, signatureAlgorithm, secure = true, secureDistribution, privateCdn = false, cname } = this.options;
    return sdk.url(publicId, {
      cloud_name: cloudName,
      api_secret: apiSecret,
      signature_algorithm: signatureAlgorithm ?? "sha1",
      secure,
      private_cdn: privateCdn,
      // null would fall back to the SDK's global config: pass the account's own value or the SDK's default.
      secure_distribution: secureDistribution ?? (privateCdn ? `${cloudName}-res.cloudinary.com` : "res.cloudinary.com"),
      ...(cname ? { cname } : {}),
      cdn_subdomain: false,
      secure_cdn_subdomain: false,
      shorten: false,
      use_root_path: false,
      auth_token: false,
      urlAnalytics: false,
      format,
      ...(version ? { version } : {}),
      ...(transformation ? { raw_transformation: transformation, sign_url: true } : { sign_url: false }),
    });
  }

  /** One signed upload through the SDK, streamed. */
  private async upload(bytes: Uint8Array, publicId: string, signal?: AbortSignal): Promise<UploadApiResponse> {
    const { uploader } = await loadSdk();
    return this.callApi<UploadApiResponse>("upload", signal, (options, done) => {
      const stream = uploader.upload_stream({ ...options, public_id: publicId, resource_type: "image" }, done);
      stream.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    });
  }

  /** One SDK call with rate limits waited out as every Cloudinary call does. */
  private callApi<T>(action: string, signal: AbortSignal | undefined, start: (options: ApiOptions, done: SdkCallback<T>) => void): Promise<T> {
    return withRateLimitRetry(this.rateLimit, signal, () => this.callApiOnce(action, signal, start));
  }

  /**
   * Runs one SDK call with this storage's options and turns its callback into
   * a promise, classifying failures. The SDK takes no AbortSignal, so each call
   * gets its own agent: destroying it on abort closes the request's socket.
   */
  private callApiOnce<T>(action: string, signal: AbortSignal | undefined, start: (options: ApiOptions, done: SdkCallback<T>) => void): Promise<T> {
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
      ...(uploadPrefix ? { upload_prefix: uploadPrefix } : {}),
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

/** Classifies what the SDK reports: an object with `http_code` for HTTP answers (it keeps no headers), a plain Error for network failures. */
function apiFailure(action: string, error: UploadApiErrorResponse | Error): Error {
  const code = "http_code" in error ? error.http_code : undefined;
  if (typeof code !== "number") {
    return new TransientError(`cloudinary ${action} failed: ${error.message}`, { cause: error });
  }
  return cloudinaryFailure(action, code, error.message);
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
