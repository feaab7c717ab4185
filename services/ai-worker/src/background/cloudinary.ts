/**
 * Background removal by Cloudinary's AI add-on: the `e_background_removal`
 * transformation of the original, which is already stored on Cloudinary.
 * The derived URL is built from the original's own URL (same delivery host,
 * version and public id), so no credentials are needed and a stand-in's URLs
 * work as well as res.cloudinary.com's. While the add-on works Cloudinary
 * answers 423; the remover polls with a growing, capped delay.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { errorForStatus, PermanentError, TransientError } from "@pipeline/runtime/errors";
import type { BackgroundRemovalInput, BackgroundRemover } from "../providers.ts";

export interface CloudinaryBackgroundRemoverOptions {
  fetch?: typeof fetch;
  /** Wait after the first 423; doubled after each further one. */
  pollDelayMs?: number;
  /** Cap of a single wait. */
  maxPollDelayMs?: number;
  /** Total time spent waiting on 423s before giving up (transiently: a later retry may find it done). */
  maxWaitMs?: number;
}

const UPLOAD_PATH = "/image/upload/";
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Cloudinary's "still processing" answer for an on-the-fly add-on transformation. */
const STILL_PROCESSING = 423;

/**
 * The background-removed PNG's URL for an original's delivery URL:
 * `…/image/upload/[t/][v123/]id.jpg` becomes `…/image/upload/e_background_removal/[t/][v123/]id.png`.
 */
export function backgroundRemovalUrl(originalUrl: string): string {
  const url = URL.canParse(originalUrl) ? new URL(originalUrl) : null;
  const at = url?.pathname.indexOf(UPLOAD_PATH) ?? -1;
  if (!url || at < 0) throw new PermanentError(`not a Cloudinary image URL: ${originalUrl}`);
  const head = url.pathname.slice(0, at + UPLOAD_PATH.length);
  // The extension chooses the delivered format: png keeps the alpha channel.
  const rest = url.pathname.slice(head.length).replace(/(\.[A-Za-z0-9]+)?$/, ".png");
  return `${url.origin}${head}e_background_removal/${rest}`;
}

export class CloudinaryBackgroundRemover implements BackgroundRemover {
  readonly name = "cloudinary";
  private readonly fetch: typeof fetch;
  private readonly pollDelayMs: number;
  private readonly maxPollDelayMs: number;
  private readonly maxWaitMs: number;

  constructor(options: CloudinaryBackgroundRemoverOptions = {}) {
    this.fetch = options.fetch ?? fetch;
    this.pollDelayMs = options.pollDelayMs ?? 1_000;
    this.maxPollDelayMs = options.maxPollDelayMs ?? 5_000;
    this.maxWaitMs = options.maxWaitMs ?? 60_000;
  }

  async remove({ originalUrl, signal }: BackgroundRemovalInput): Promise<Uint8Array> {
    const url = backgroundRemovalUrl(originalUrl);
    let waited = 0;
    for (let delay = this.pollDelayMs; ; delay = Math.min(delay * 2, this.maxPollDelayMs)) {
      const response = await this.request(url, signal);
      if (response.status !== STILL_PROCESSING) return readPng(response);
      await response.body?.cancel();
      if (waited >= this.maxWaitMs) {
        throw new TransientError(`cloudinary background removal still processing after ${waited} ms`);
      }
      const wait = Math.min(delay, this.maxWaitMs - waited);
      await sleep(wait, undefined, { signal }).catch((error) => {
        throw new TransientError("cloudinary background removal aborted while waiting", { cause: signal.reason ?? error });
      });
      waited += wait;
    }
  }

  private async request(url: string, signal: AbortSignal): Promise<Response> {
    try {
      return await this.fetch(url, { signal });
    } catch (error) {
      // Network failure, or the signal fired (the job's timeout): worth another try.
      throw new TransientError(`cloudinary background removal failed: ${(error as Error).message}`, { cause: error });
    }
  }
}

async function readPng(response: Response): Promise<Uint8Array> {
  if (!response.ok) {
    await response.body?.cancel();
    throw errorForStatus("cloudinary background removal", response.status, response.headers.get("x-cld-error") ?? "");
  }
  const bytes = await response.bytes().catch((error: Error) => {
    throw new TransientError(`cloudinary background removal: reading the PNG failed: ${error.message}`, { cause: error });
  });
  if (!PNG_SIGNATURE.every((byte, index) => bytes[index] === byte)) {
    throw new PermanentError(`cloudinary background removal returned ${response.headers.get("content-type")}, not a PNG`);
  }
  return bytes;
}
