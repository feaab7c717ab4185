/**
 * CLOUDINARY_URL as the cloudinary SDK reads it, and the delivery origin its
 * `url()` builds from it. cloudinary://<api_key>:<api_secret>@<cloud_name>
 * [/<secure_distribution>][?<option>=<value>&...], where a path names the
 * private CDN's secure distribution and the query sets SDK options; these are
 * honoured: `upload_prefix` (another region's API, e.g.
 * https://api-eu.cloudinary.com), `secure_distribution` (a custom HTTPS
 * delivery host), `private_cdn`, `cname` (the plain-HTTP delivery host),
 * `secure` and `signature_algorithm`.
 */
import type { StorageConfig } from "./config.ts";

export type SignatureAlgorithm = "sha1" | "sha256";

export interface CloudinaryCredentials {
  cloudName: string;
  apiKey: string;
  apiSecret: string;
  /** The account's signature algorithm (API calls and URL signatures); SHA-1 when absent. */
  signatureAlgorithm?: SignatureAlgorithm;
}

/** Where delivery URLs point, as the SDK's `url()` options of the same names. */
export interface CloudinaryDelivery {
  /** https (default) or http delivery. */
  secure?: boolean;
  /** The HTTPS delivery host (`host[:port]`); res.cloudinary.com, or `<cloud>-res.cloudinary.com` on a private CDN, when absent. */
  secureDistribution?: string;
  /** Delivery host without the cloud name in the path (a private CDN or custom domain). */
  privateCdn?: boolean;
  /** The plain-HTTP delivery host (`host[:port]`), used when `secure` is false. */
  cname?: string;
}

export interface CloudinaryAccount extends CloudinaryCredentials, CloudinaryDelivery {
  /** API base (the SDK's upload_prefix); https://api.cloudinary.com when absent. */
  uploadPrefix?: string;
}

const SHARED_CDN = "res.cloudinary.com";
/** The SDK maps Cloudinary's retired Akamai host to the shared CDN. */
const OLD_AKAMAI_SHARED_CDN = "cloudinary-a.akamaihd.net";
const FORMAT = "cloudinary://<api_key>:<api_secret>@<cloud_name>[?upload_prefix=...&secure_distribution=...&private_cdn=true&cname=...]";

export function parseCloudinaryUrl(value: string): CloudinaryAccount {
  const url = URL.canParse(value) ? new URL(value) : null;
  if (url?.protocol !== "cloudinary:" || !url.username || !url.password || !url.hostname) {
    throw new Error(`CLOUDINARY_URL must be ${FORMAT}`);
  }
  const query = url.searchParams;
  const algorithm = query.get("signature_algorithm");
  if (algorithm !== null && algorithm !== "sha1" && algorithm !== "sha256") {
    throw new Error(`CLOUDINARY_URL: unsupported signature_algorithm ${algorithm}`);
  }
  const uploadPrefix = query.get("upload_prefix");
  if (uploadPrefix !== null && !/^https?:\/\/[^/?#]+/.test(uploadPrefix)) {
    throw new Error(`CLOUDINARY_URL: upload_prefix must be an http(s) origin, not ${uploadPrefix}`);
  }
  // As the SDK: a path is the private CDN's secure distribution.
  const pathDistribution = url.pathname.replace(/^\/+/, "") || undefined;
  const secureDistribution = host(query.get("secure_distribution") ?? pathDistribution, "secure_distribution");
  const privateCdn = flag(query, "private_cdn") ?? (pathDistribution !== undefined || undefined);
  const cname = host(query.get("cname") ?? undefined, "cname");
  const secure = flag(query, "secure");
  return {
    cloudName: url.hostname,
    apiKey: decodeURIComponent(url.username),
    apiSecret: decodeURIComponent(url.password),
    ...(algorithm ? { signatureAlgorithm: algorithm } : {}),
    ...(uploadPrefix ? { uploadPrefix: uploadPrefix.replace(/\/+$/, "") } : {}),
    ...(secureDistribution ? { secureDistribution } : {}),
    ...(privateCdn !== undefined ? { privateCdn } : {}),
    ...(cname ? { cname } : {}),
    ...(secure !== undefined ? { secure } : {}),
  };
}

/** The account from the environment; CLOUDINARY_UPLOAD_PREFIX, when set, wins over the URL's upload_prefix. */
export function cloudinaryOptionsFromConfig(config: Pick<StorageConfig, "CLOUDINARY_URL" | "CLOUDINARY_UPLOAD_PREFIX">): CloudinaryAccount {
  if (!config.CLOUDINARY_URL) throw new Error("STORAGE=cloudinary needs CLOUDINARY_URL");
  const account = parseCloudinaryUrl(config.CLOUDINARY_URL);
  return config.CLOUDINARY_UPLOAD_PREFIX ? { ...account, uploadPrefix: config.CLOUDINARY_UPLOAD_PREFIX.replace(/\/+$/, "") } : account;
}

/**
 * The origin and path every delivery URL of the account starts with, as the
 * SDK's `unsigned_url_prefix` builds it (no cdn_subdomain sharding), e.g.
 * https://res.cloudinary.com/<cloud> or https://images.example.com.
 */
export function deliveryPrefix(account: Pick<CloudinaryAccount, "cloudName"> & CloudinaryDelivery): string {
  const { cloudName, privateCdn = false, cname, secure = true } = account;
  let origin: string;
  if (secure) {
    const distribution = account.secureDistribution === OLD_AKAMAI_SHARED_CDN ? undefined : account.secureDistribution;
    origin = `https://${distribution ?? (privateCdn ? `${cloudName}-${SHARED_CDN}` : SHARED_CDN)}`;
  } else {
    origin = `http://${cname ?? (privateCdn ? `${cloudName}-${SHARED_CDN}` : SHARED_CDN)}`;
  }
  return privateCdn ? origin : `${origin}/${cloudName}`;
}

function flag(query: URLSearchParams, name: string): boolean | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  if (value === "true") return true;
  if (value === "false") return false;
  throw new Error(`CLOUDINARY_URL: ${name} must be true or false, not ${value}`);
}

function host(value: string | undefined, name: string): string | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(value)) throw new Error(`CLOUDINARY_URL: ${name} must be a host name (host[:port]), not ${value}`);
  return value;
}
