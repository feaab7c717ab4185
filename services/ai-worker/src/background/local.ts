/** Background removal on this machine, by @pipeline/vision on the vision threads. */
import type { BackgroundRemovalInput, BackgroundRemover, Cutout } from "../providers.ts";
import type { VisionPool } from "../vision/pool.ts";

export class LocalBackgroundRemover implements BackgroundRemover {
  readonly name = "local";

  constructor(private readonly pool: Pick<VisionPool, "removeBackground">) {}

  remove({ original, signal }: BackgroundRemovalInput): Promise<Cutout> {
    return this.pool.removeBackground(original, signal);
  }
}
