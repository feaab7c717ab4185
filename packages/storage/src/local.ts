/**
 * Local storage: files under one folder that every service shares; the
 * gateway serves them at `<PUBLIC_URL>/media/<name>`. Names are 128 random
 * bits, so a URL cannot be guessed.
 */
import { mkdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { PermanentError } from "@pipeline/runtime/errors";
import type { ImageStorage, SaveOptions } from "./types.ts";

/** A stored file's name: 32 hex characters, an optional kind suffix, and an image extension. */
export const MEDIA_NAME = /^[0-9a-f]{32}(?:-(?:original|processed))?\.(?:png|jpg|webp)$/;

const EXTENSIONS: Record<string, string> = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp" };

export function mediaBaseUrl(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, "")}/media/`;
}

export class LocalStorage implements ImageStorage {
  readonly name = "local" as const;
  readonly baseUrl: string;
  readonly plainHttpBase: string;
  private dirReady: Promise<unknown> | undefined;

  constructor(
    private readonly dir: string,
    publicUrl: string,
  ) {
    this.baseUrl = mediaBaseUrl(publicUrl);
    this.plainHttpBase = this.baseUrl;
  }

  async save(bytes: Uint8Array, { kind, contentType }: SaveOptions): Promise<{ url: string }> {
    const extension = EXTENSIONS[contentType];
    if (!extension) throw new PermanentError(`cannot store content type ${contentType}`);
    // Once per process; recreated if someone removed the folder meanwhile.
    this.dirReady ??= mkdir(this.dir, { recursive: true });
    await this.dirReady;
    const name = `${crypto.randomUUID().replaceAll("-", "")}-${kind}.${extension}`;
    try {
      await Bun.write(join(this.dir, name), bytes);
    } catch (error) {
      this.dirReady = undefined;
      throw error;
    }
    return { url: this.baseUrl + name };
  }

  owns(url: string): boolean {
    return this.nameOf(url) !== null;
  }

  /** Reads straight from the shared folder: no HTTP round trip, and no way to reach any other file. */
  async load(url: string): Promise<Uint8Array> {
    const name = this.nameOf(url);
    if (!name) throw new PermanentError(`not a URL of this storage: ${url}`);
    const file = Bun.file(join(this.dir, name));
    if (!(await file.exists())) throw new PermanentError(`stored image is missing: ${name}`);
    return new Uint8Array(await file.arrayBuffer());
  }

  async remove(url: string): Promise<boolean> {
    const name = this.nameOf(url);
    if (!name) throw new PermanentError(`not a URL of this storage: ${url}`);
    try {
      await unlink(join(this.dir, name));
      return true;
    } catch (error) {
      // Already gone (a repeated delete, or another replica got there first): nothing left to do.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw error;
    }
  }

  /** The file a public URL refers to, if it is one of ours; null otherwise. */
  nameOf(url: string): string | null {
    if (!url.startsWith(this.baseUrl)) return null;
    const name = url.slice(this.baseUrl.length);
    return MEDIA_NAME.test(name) ? name : null;
  }

  /** Path of a stored file by name, for the gateway's /media route; null for a name that is not ours. */
  pathOf(name: string): string | null {
    return MEDIA_NAME.test(name) ? join(this.dir, name) : null;
  }
}
