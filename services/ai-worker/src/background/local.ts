/** Background removal on this machine, by @pipeline/vision. */
import { removeBackground } from "@pipeline/vision";
import type { BackgroundRemovalInput, BackgroundRemover, Cutout } from "../providers.ts";

export class LocalBackgroundRemover implements BackgroundRemover {
  readonly name = "local";

  remove({ original, signal }: BackgroundRemovalInput): Promise<Cutout> {
    return removeBackground(original, { signal });
  }
}
