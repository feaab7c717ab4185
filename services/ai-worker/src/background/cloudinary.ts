/**
 * Background removal by Cloudinary's AI add-on: the `e_background_removal`
 * transformation of the original, which is already stored on Cloudinary,
 * delivered as a PNG from a signed derived URL (so Strict Transformations
 * accounts serve it too). While the add-on works Cloudinary answers 423; the
 * remover polls with a growing, capped delay. The derived URL is the
 * processed image's URL as it is: Cloudinary keeps and delivers the cut-out,
 * so it is not uploaded a second time.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { PermanentError, TransientError } from "@pipeline/runtime/errors";
import { type CloudinaryStorage, deliveryFailure } from "@pipeline/storage";
import type { BackgroundRemovalInput, BackgroundRemover, Cutout } from "../providers.ts";

export interface CloudinaryBackgroundRemoverOptions {
  /** Wait after the first 423; doubled after each further one. */
  pollDelayMs?: number;
  /** Cap of a single wait. */
  maxPollDelayMs?: number;
  /** Total time spent waiting on 423s before giving up (transiently: a later retry may find it done). */
  maxWaitMs?: number;
}

/** The add-on's transformation; png keeps the alpha channel. */
export const BACKGROUND_REMOVAL = "e_background_removal";
const CUTOUT_FORMAT = "png";
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Cloudinary's "still processing" answer for an on-the-fly add-on transformation. */
const STILL_PROCESSING = 423;

export class CloudinaryBackgroundRemover implements BackgroundRemover {
  readonly name = "cloudinary";
  private readonly pollDelayMs: number;
  private readonly maxPollDelayMs: number;
  private readonly maxWaitMs: number;

  constructor(
    private readonly storage: Pick<CloudinaryStorage, "derivedUrl" | "fetchDelivery">,
    options: CloudinaryBackgroundRemoverOptions = {},
  ) {
    this.pollDelayMs = options.pollDelayMs ?? 1_000;
    this.maxPollDelayMs = options.maxPollDelayMs ?? 5_000;
    this.maxWaitMs = options.maxWaitMs ?? 60_000;
  }

  async remove({ originalUrl, signal }: BackgroundRemovalInput): Promise<Cutout> {
    const url = await this.storage.derivedUrl(originalUrl, BACKGROUND_REMOVAL, CUTOUT_FORMAT);
    let waited = 0;
    for (let delay = this.pollDelayMs; ; delay = Math.min(delay * 2, this.maxPollDelayMs)) {
      const response = await this.storage.fetchDelivery(url, signal);
      // Cloudinary says nothing of how sure it is (no confidence), and keeps delivering the cut-out where it is.
      if (response.status !== STILL_PROCESSING) return { png: await readPng(response), storedUrl: url };
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
}

async function readPng(response: Response): Promise<Uint8Array> {
  if (!response.ok) throw await deliveryFailure("background removal", response);
  const bytes = await response.bytes().catch((error: Error) => {
    throw new TransientError(`cloudinary background removal: reading the PNG failed: ${error.message}`, { cause: error });
  });
  if (!PNG_SIGNATURE.every((byte, index) => bytes[index] === byte)) {
    throw new PermanentError(`cloudinary background removal returned ${response.headers.get("content-type")}, not a PNG`);
  }
  return bytes;
}
