/**
 * A local stand-in for Cloudinary, speaking the protocol the official SDK
 * and the delivery host use:
 * - `POST /v1_1/<cloud>/image/upload`: the SDK's signed multipart upload. The
 *   signature is verified the way Cloudinary does it; a bad one gets 401 and
 *   Cloudinary's error JSON (`{"error": {"message": ...}}`).
 * - `POST /v1_1/<cloud>/image/destroy`: the SDK's signed destroy, checked the
 *   same way; it forgets the asset (its deliveries turn 404) and answers
 *   `{"result": "ok"}`, or `{"result": "not found"}` for an unknown public_id.
 * - `GET /<cloud>/image/upload/[s--<signature>--/][<transformations>/][v<version>/]<public_id>.<ext>`:
 *   delivery, with `e_background_removal` answering 423 for the first
 *   `backgroundRemovalPending` requests of each asset, as the add-on does
 *   while it works, then a PNG with alpha. A URL signature, when present, is
 *   checked (a wrong one is 401); in `strict` mode (Strict Transformations) a
 *   transformation that is neither signed nor already generated is 401, with
 *   the reason in X-Cld-Error, as Cloudinary answers.
 * - `region`: the API is served only under `/api-<region>` (the stand-in's
 *   form of a regional upload_prefix such as https://api-eu.cloudinary.com).
 * - `deliveryHost`: a private CDN / custom domain. Requests whose Host header
 *   names it are deliveries at `/image/upload/...`, without the cloud name;
 *   `secure_url`s point there. Any `*.localhost` name reaches the loopback.
 * Delivery is over plain HTTP (there is no TLS here).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import sharp from "sharp";

export interface CloudinaryStandInOptions {
  cloudName?: string;
  apiKey?: string;
  apiSecret?: string;
  signatureAlgorithm?: "sha1" | "sha256";
  /** 423 answers per asset before its background removal is ready. */
  backgroundRemovalPending?: number;
  /** Strict Transformations: only signed or already generated transformations are delivered. */
  strict?: boolean;
  /** Serve the API under `/api-<region>` only, as a regional upload_prefix. */
  region?: string;
  /** A custom delivery host name (e.g. images.collector.localhost), told apart by the Host header. */
  deliveryHost?: string;
}

export interface StoredAsset {
  publicId: string;
  version: number;
  format: string;
  bytes: Uint8Array;
  width: number;
  height: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** null until answered, and for good when the client closed first. */
  status: number | null;
  /** The Host header the request came with (custom delivery domains are told apart by it). */
  host: string;
  /** An upload's or destroy's form fields, file excluded. */
  fields?: Record<string, string>;
  /** Bytes of the request body (the multipart form of an upload) and of the answer's body. */
  bytesIn: number;
  bytesOut: number;
  /** Settles when the request ends: true when the client closed the connection before an answer. */
  clientClosed: Promise<boolean>;
}

/** What the next request of a route gets instead of normal service. */
export type Fault = { status: number; retryAfter?: string } | { stall: true };
export type Route = "upload" | "destroy" | "delivery";

export interface CloudinaryStandIn {
  /** Origin of the stand-in, e.g. http://127.0.0.1:43121: the shared delivery host. */
  url: string;
  /** The SDK's upload_prefix for it: `url`, or `url/api-<region>`. */
  apiUrl: string;
  /** `host:port` of the custom delivery host, when one is set. */
  deliveryHost?: string;
  cloudName: string;
  apiKey: string;
  apiSecret: string;
  requests: RecordedRequest[];
  assets: Map<string, StoredAsset>;
  /** Queues a fault for the next request of that route. */
  failNext(route: Route, fault: Fault): void;
  stop(): Promise<void>;
}

const STALE_AFTER_SECONDS = 3600;
/** Params the API signature leaves out, as Cloudinary documents. */
const UNSIGNED_PARAMS = new Set(["file", "cloud_name", "resource_type", "api_key", "signature"]);
const TRANSFORMATION_SEGMENT = /^[a-z]{1,3}_[^,/]+(?:,[a-z]{1,3}_[^,/]+)*$/;
const FORMATS = { png: "png", jpg: "jpeg", jpeg: "jpeg", webp: "webp" } as const;
type Extension = keyof typeof FORMATS;

export function startCloudinaryStandIn(options: CloudinaryStandInOptions = {}): CloudinaryStandIn {
  const cloudName = options.cloudName ?? "standin-cloud";
  const apiKey = options.apiKey ?? "123456789012345";
  const apiSecret = options.apiSecret ?? "standin-secret";
  const algorithm = options.signatureAlgorithm ?? "sha1";
  const pending = options.backgroundRemovalPending ?? 0;

  const requests: RecordedRequest[] = [];
  const assets = new Map<string, StoredAsset>();
  const faults: Record<Route, Fault[]> = { upload: [], destroy: [], delivery: [] };
  const removalRequests = new Map<string, number>();
  const apiPath = options.region ? `/api-${options.region}` : "";
  const uploadPath = `${apiPath}/v1_1/${cloudName}/image/upload`;
  const destroyPath = `${apiPath}/v1_1/${cloudName}/image/destroy`;
  const sharedPrefix = `/${cloudName}/image/upload/`;
  const privatePrefix = "/image/upload/";
  /** Derived images generated so far (`<transformation>/<public_id>.<ext>`): strict mode delivers them unsigned. */
  const generated = new Set<string>();

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      const closed = Promise.withResolvers<boolean>();
      const body = new Uint8Array(request.method === "POST" ? await request.arrayBuffer() : new ArrayBuffer(0));
      const host = request.headers.get("host") ?? "";
      const record: RecordedRequest = { method: request.method, path, host, status: null, clientClosed: closed.promise, bytesIn: body.byteLength, bytesOut: 0 };
      requests.push(record);
      const route = routeOf(request.method, host, path);
      const response = route ? await serve(route, request, body, record) : cloudinaryError(404, "Not found");
      closed.resolve(response === null);
      if (!response) return new Response(null); // nobody is listening any more
      record.status = response.status;
      record.bytesOut = (await response.clone().arrayBuffer()).byteLength;
      return response;
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  const deliveryHost = options.deliveryHost ? `${options.deliveryHost}:${server.port}` : undefined;

  function routeOf(method: string, host: string, path: string): Route | null {
    if (method === "POST" && path === uploadPath) return "upload";
    if (method === "POST" && path === destroyPath) return "destroy";
    if (method === "GET" && deliveryPathOf(host, path) !== null) return "delivery";
    return null;
  }

  /** What follows `image/upload/` on this host: with the cloud name on the shared host, without it on the custom one. */
  function deliveryPathOf(host: string, path: string): string | null {
    const prefix = host === deliveryHost ? privatePrefix : sharedPrefix;
    return path.startsWith(prefix) ? path.slice(prefix.length) : null;
  }

  /** The answer, or null when a stalled request was closed by the client. */
  async function serve(route: Route, request: Request, body: Uint8Array<ArrayBuffer>, record: RecordedRequest): Promise<Response | null> {
    const fault = faults[route].shift();
    if (fault && "stall" in fault) return stall(request.signal);
    if (fault) {
      const headers = fault.retryAfter ? { "retry-after": fault.retryAfter } : undefined;
      return route === "delivery" ? deliveryError(fault.status, "Injected failure", headers) : cloudinaryError(fault.status, "Injected failure", headers);
    }
    if (route === "delivery") return deliver(deliveryPathOf(record.host, record.path)!);
    const form = await new Response(body, { headers: { "content-type": request.headers.get("content-type") ?? "" } }).formData();
    const fields: Record<string, string> = {};
    for (const [key, value] of form) if (typeof value === "string") fields[key] = value;
    record.fields = fields;
    const refused = checkSignature(fields);
    if (refused) return refused;
    return route === "upload" ? upload(form, fields) : destroy(fields);
  }

  /** Cloudinary's checks of a signed API call: the key, the signature, a fresh timestamp; null when all pass. */
  function checkSignature(fields: Record<string, string>): Response | null {
    if (fields.api_key !== apiKey) return cloudinaryError(401, `Unknown API key ${fields.api_key ?? ""}`);
    const toSign = stringToSign(fields);
    const expected = createHash(algorithm)
      .update(toSign + apiSecret)
      .digest("hex");
    if (!fields.signature) return cloudinaryError(400, "Missing required parameter - signature");
    if (!sameText(fields.signature, expected)) {
      return cloudinaryError(401, `Invalid Signature ${fields.signature ?? ""}. String to sign - '${toSign}'.`);
    }
    if (!fields.timestamp) return cloudinaryError(400, "Missing required parameter - timestamp");
    const timestamp = Number(fields.timestamp);
    if (!(Math.abs(Date.now() / 1000 - timestamp) < STALE_AFTER_SECONDS)) {
      return cloudinaryError(400, `Stale request - reported time is ${fields.timestamp}, which is out of range`);
    }
    return null;
  }

  function destroy(fields: Record<string, string>): Response {
    if (!fields.public_id) return cloudinaryError(400, "Missing required parameter - public_id");
    removalRequests.delete(fields.public_id);
    // Cloudinary answers 200 either way; only the result says whether anything was there.
    return Response.json({ result: assets.delete(fields.public_id) ? "ok" : "not found" });
  }

  async function upload(form: FormData, fields: Record<string, string>): Promise<Response> {
    const file = form.get("file");
    if (!(file instanceof Blob)) return cloudinaryError(400, "Missing required parameter - file");
    const bytes = new Uint8Array(await file.arrayBuffer());
    const metadata = await sharp(bytes)
      .metadata()
      .catch(() => null);
    if (!metadata?.format || !metadata.width || !metadata.height) return cloudinaryError(400, "Invalid image file");

    const publicId = [fields.folder, fields.public_id ?? randomPublicId()].filter(Boolean).join("/");
    const format = metadata.format === "jpeg" ? "jpg" : metadata.format;
    const asset: StoredAsset = {
      publicId,
      version: Math.floor(Date.now() / 1000),
      format,
      bytes,
      width: metadata.width,
      height: metadata.height,
    };
    assets.set(publicId, asset);
    return Response.json(uploadResult(asset, fields));
  }

  function uploadResult(asset: StoredAsset, fields: Record<string, string>) {
    // As on a private CDN or custom domain account, secure_url names the account's own delivery host.
    const base = deliveryHost ? `http://${deliveryHost}${privatePrefix}` : `${url}${sharedPrefix}`;
    const deliveryUrl = `${base}v${asset.version}/${asset.publicId}.${asset.format}`;
    return {
      asset_id: crypto.randomUUID().replaceAll("-", ""),
      public_id: asset.publicId,
      version: asset.version,
      version_id: crypto.randomUUID().replaceAll("-", ""),
      signature: createHash("sha1").update(asset.bytes).digest("hex"),
      width: asset.width,
      height: asset.height,
      format: asset.format,
      resource_type: "image",
      created_at: new Date(asset.version * 1000).toISOString().replace(/\.\d+Z$/, "Z"),
      tags: [],
      bytes: asset.bytes.byteLength,
      type: "upload",
      etag: createHash("md5").update(asset.bytes).digest("hex"),
      placeholder: false,
      url: deliveryUrl,
      secure_url: deliveryUrl,
      asset_folder: fields.folder ?? "",
      display_name: asset.publicId.split("/").pop(),
      original_filename: "file",
      api_key: apiKey,
    };
  }

  async function deliver(rest: string): Promise<Response> {
    const parsed = parseDeliveryPath(rest);
    if (!parsed) return deliveryError(400, `Invalid delivery URL ${rest}`);
    const refused = checkUrlSignature(parsed);
    if (refused) return refused;
    const asset = assets.get(parsed.publicId);
    // Like Cloudinary, the version only busts caches: any (or none) finds the asset.
    if (!asset) return deliveryError(404, `Resource not found - ${parsed.publicId}`);
    const unknown = parsed.transformations.filter((step) => step !== "e_background_removal" && !step.startsWith("f_"));
    if (unknown.length) return deliveryError(400, `Invalid transformation component - ${unknown.join(",")}`);

    let bytes = asset.bytes;
    if (parsed.transformations.includes("e_background_removal")) {
      const seen = (removalRequests.get(asset.publicId) ?? 0) + 1;
      removalRequests.set(asset.publicId, seen);
      if (seen <= pending) return deliveryError(423, "Background removal in progress");
      bytes = await fakeCutout(bytes);
    }
    const extension = (parsed.transformations.find((step) => step.startsWith("f_"))?.slice(2) ?? parsed.extension) as Extension;
    const format = FORMATS[extension];
    if (!format) return deliveryError(400, `Unsupported format ${extension}`);
    const converted = new Uint8Array(await sharp(bytes).toFormat(format).toBuffer());
    if (parsed.transformations.length) generated.add(parsed.signedPart);
    return new Response(converted, { headers: { "content-type": `image/${format}` } });
  }

  /**
   * A URL signature (`s--<8 or 32 chars>--`) must be the first 8 (or, SHA-256
   * "long" signatures, 32) characters of the URL-safe base64 of the hash of
   * `<transformations>/<public_id>.<ext>` + api_secret, as the SDK's url()
   * computes it. In strict mode an unsigned transformation is delivered only
   * once it has been generated. Null when the URL may be delivered.
   */
  function checkUrlSignature(parsed: DeliveryPath): Response | null {
    if (parsed.signature) {
      const long = parsed.signature.length === 32;
      const digest = createHash(long ? "sha256" : algorithm)
        .update(parsed.signedPart + apiSecret)
        .digest("base64url");
      if (!sameText(parsed.signature, digest.slice(0, parsed.signature.length))) return deliveryError(401, `Invalid signature s--${parsed.signature}--`);
      return null;
    }
    if (options.strict && parsed.transformations.length && !generated.has(parsed.signedPart)) {
      return deliveryError(401, `Transformation ${parsed.transformations.join(",")}/ is not allowed`);
    }
    return null;
  }

  return {
    url,
    apiUrl: `${url}${apiPath}`,
    ...(deliveryHost ? { deliveryHost } : {}),
    cloudName,
    apiKey,
    apiSecret,
    requests,
    assets,
    failNext(route, fault) {
      faults[route].push(fault);
    },
    async stop() {
      await server.stop(true);
    },
  };
}

/** Cloudinary's signing string: sorted `key=value` pairs (`&` in them escaped, as signature v2 does) joined by `&`. */
export function stringToSign(fields: Record<string, string>): string {
  return Object.entries(fields)
    .filter(([key, value]) => !UNSIGNED_PARAMS.has(key) && value !== "")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`.replaceAll("&", "%26"))
    .join("&");
}

interface DeliveryPath {
  signature?: string;
  transformations: string[];
  publicId: string;
  extension: string;
  /** What a URL signature covers: the transformation and the public_id with its extension. */
  signedPart: string;
}

function parseDeliveryPath(rest: string): DeliveryPath | null {
  const segments = rest.split("/").filter(Boolean);
  const signature = /^s--([A-Za-z0-9_-]{8}|[A-Za-z0-9_-]{32})--$/.exec(segments[0] ?? "")?.[1];
  if (signature) segments.shift();
  const transformations: string[] = [];
  const steps: string[] = [];
  while (segments.length > 1 && TRANSFORMATION_SEGMENT.test(segments[0]!)) {
    const step = segments.shift()!;
    steps.push(step);
    transformations.push(...step.split(","));
  }
  if (segments.length > 1 && /^v\d+$/.test(segments[0]!)) segments.shift();
  const source = segments.join("/");
  const match = /^(.+)\.([a-z0-9]+)$/.exec(source);
  if (!match) return null;
  const signedPart = [...steps, source].join("/");
  return { ...(signature ? { signature } : {}), transformations, publicId: decodeURIComponent(match[1]!), extension: match[2]!, signedPart };
}

/** Makes a recognisable cutout: the outer eighth of each side turns transparent, the rest stays opaque. */
async function fakeCutout(bytes: Uint8Array): Promise<Uint8Array> {
  const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const border = Math.floor(Math.min(width, height) / 8);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = x >= border && x < width - border && y >= border && y < height - border;
      data[(y * width + x) * 4 + 3] = inside ? 255 : 0;
    }
  }
  return new Uint8Array(
    await sharp(data, { raw: { width, height, channels: 4 } })
      .png()
      .toBuffer(),
  );
}

/** Holds the request until the client gives up. */
async function stall(clientGone: AbortSignal): Promise<null> {
  await new Promise<void>((resolve) => clientGone.addEventListener("abort", () => resolve(), { once: true }));
  return null;
}

function cloudinaryError(status: number, message: string, headers?: Record<string, string>): Response {
  return Response.json({ error: { message } }, { status, ...(headers ? { headers } : {}) });
}

/** The delivery host reports errors in the X-Cld-Error header, not in the body. */
function deliveryError(status: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(null, { status, headers: { ...headers, "x-cld-error": message } });
}

function sameText(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function randomPublicId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(20)), (byte) => "abcdefghijklmnopqrstuvwxyz0123456789"[byte % 36]).join("");
}
