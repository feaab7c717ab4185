/** Where original and processed images live. One interface, one implementation per backend. */
export type ImageKind = "original" | "processed";

export interface SaveOptions {
  kind: ImageKind;
  /** MIME type of `bytes`, e.g. image/png. */
  contentType: string;
  signal?: AbortSignal;
}

export interface ImageStorage {
  readonly name: "local" | "cloudinary";
  /**
   * The base this storage serves from when it is not HTTPS because the
   * operator configured it so (local storage; a Cloudinary stand-in reached
   * through CLOUDINARY_UPLOAD_PREFIX). Job image URLs under it are the one
   * exception to the HTTPS rule.
   */
  readonly plainHttpBase?: string;
  /** Stores the bytes and returns the public URL under which they can be fetched. */
  save(bytes: Uint8Array, options: SaveOptions): Promise<{ url: string }>;
  /** True when `url` points at this storage (the only URLs the worker will read). */
  owns(url: string): boolean;
  /** Reads an image this storage owns; rejects any other URL with a PermanentError. */
  load(url: string, signal?: AbortSignal): Promise<Uint8Array>;
  /**
   * Deletes an image this storage owns: true when something was deleted, false
   * when it was already gone (so a repeated delete is harmless). Rejects any
   * other URL with a PermanentError, and transient failures (network, 5xx,
   * 420/429) with a TransientError.
   */
  remove(url: string, signal?: AbortSignal): Promise<boolean>;
}
