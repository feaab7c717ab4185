/**
 * How much to trust a mask, 0..1, from what can be checked without the truth:
 * each factor is 1 for what a product photo's item looks like and falls as
 * the mask looks less like one. Their product is the confidence.
 */

/** Evidence about one mask, all on the working copy. */
export type MaskEvidence = {
  /** The kept object (1 = item), holes filled. */
  object: Uint8Array;
  /** Foreground pixels before the main object was chosen (1 = foreground). */
  candidates: Uint8Array;
  /** Each pixel's distance to the backdrop model, and the threshold it was split at. */
  distance: Float32Array;
  threshold: number;
  /** Pixels cleared as shadow. */
  shadowPixels: number;
  /** The backdrop was busy (textured), so distances say little about contrast. */
  busy: boolean;
  width: number;
  height: number;
};

/** Below this the mask is a guess: docs/providers.md and the Asset's confidence say so. */
export const UNSURE = 0.5;
/** The object's share of the frame that is plausible for a product photo. */
const MIN_SHARE = 0.01;
const MAX_SHARE = 0.9;
/** Median distance of the object's own pixels, in thresholds, from which its contrast is beyond doubt. */
const CLEAR_CONTRAST = 3;
/** Share of the frame's edge the object may run along before the mask is suspected of holding backdrop. */
const EDGE_RUN = 0.15;

export function maskConfidence(evidence: MaskEvidence): number {
  const { object, candidates, width, height } = evidence;
  let area = 0;
  let detected = 0;
  let stray = 0;
  for (let i = 0; i < object.length; i++) {
    if (object[i] === 1) {
      area++;
      if (candidates[i] === 1) detected++;
    } else if (candidates[i] === 1) {
      stray++;
    }
  }
  if (area === 0) return 0;
  const share = area / (width * height);
  const factors = [
    // Too small to be the item, or so large the backdrop was never found.
    share < MIN_SHARE ? share / MIN_SHARE : share > MAX_SHARE ? Math.max(0, (1 - share) / (1 - MAX_SHARE)) : 1,
    // Foreground left outside the object: clutter, or an item broken into pieces.
    1 / (1 + 4 * (stray / area)),
    // An object mostly filled in rather than seen.
    clamp(detected / area / 0.6),
    // Faint: barely above the backdrop's noise; or blurred all round, as a shadow is and an item in focus is not
    // (both meaningless on a busy backdrop, where distances are the texture's).
    evidence.busy ? 1 : contrastFactor(evidence),
    evidence.busy ? 1 : clamp((sharpOutlineShare(evidence) - SOFT_OUTLINE_SHARE) / (SHARP_OUTLINE_SHARE - SOFT_OUTLINE_SHARE)),
    // Running along the frame's edge: the backdrop leaking in, or an item cropped.
    clamp(1 - (edgeShare(object, width, height) - EDGE_RUN) / 0.35),
    // What is left after clearing much more shadow than that is likely a shadow's dark core.
    evidence.shadowPixels <= area ? 1 : clamp(1 - (evidence.shadowPixels / area - 1) / 2),
  ];
  return factors.reduce((product, f) => product * f, 1);
}

/** Share of the outline that is a sharp step: from this on the object looks in focus; at the lower one, blurred all round (a shadow). */
const SHARP_OUTLINE_SHARE = 0.9;
const SOFT_OUTLINE_SHARE = 0.5;

/**
 * Share of the object's outline pixels where the item is at full contrast
 * within a pixel (the nearest 3 x 3 of the object reaches 70 % of what the
 * nearest 9 x 9 does): a step, not a ramp.
 */
function sharpOutlineShare({ object, distance, width, height }: MaskEvidence): number {
  let outline = 0;
  let sharp = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1, i = y * width + 1; x < width - 1; x++, i++) {
      if (object[i] === 0 || (object[i - 1] === 1 && object[i + 1] === 1 && object[i - width] === 1 && object[i + width] === 1)) continue;
      outline++;
      if (maxInObject(object, distance, x, y, 1, width, height) >= 0.7 * maxInObject(object, distance, x, y, 4, width, height)) sharp++;
    }
  }
  return outline === 0 ? 0 : sharp / outline;
}

function maxInObject(object: Uint8Array, distance: Float32Array, x: number, y: number, radius: number, width: number, height: number): number {
  let max = 0;
  for (let ny = Math.max(0, y - radius); ny <= Math.min(height - 1, y + radius); ny++) {
    for (let nx = Math.max(0, x - radius), n = ny * width + nx; nx <= Math.min(width - 1, x + radius); nx++, n++) {
      if (object[n] === 1 && distance[n]! > max) max = distance[n]!;
    }
  }
  return max;
}

function contrastFactor({ object, candidates, distance, threshold }: MaskEvidence): number {
  // Median by histogram of whole distances (0..441): a sort of every pixel costs more than the rest of this file.
  const histogram = new Uint32Array(443);
  let seen = 0;
  for (let i = 0; i < object.length; i++) {
    if (object[i] === 1 && candidates[i] === 1) {
      histogram[Math.min(442, distance[i]! | 0)]!++;
      seen++;
    }
  }
  if (seen === 0) return 0;
  let median = 0;
  for (let below = 0; median < 442 && below + histogram[median]! <= seen / 2; median++) below += histogram[median]!;
  return clamp((median / threshold - 1) / (CLEAR_CONTRAST - 1));
}

/** Share of the frame's edge pixels that the object covers. */
function edgeShare(object: Uint8Array, width: number, height: number): number {
  let covered = 0;
  for (let x = 0; x < width; x++) covered += object[x]! + object[(height - 1) * width + x]!;
  for (let y = 1; y < height - 1; y++) covered += object[y * width]! + object[y * width + width - 1]!;
  return covered / (2 * width + 2 * Math.max(0, height - 2));
}

function clamp(v: number): number {
  return Math.min(1, Math.max(0, v));
}
