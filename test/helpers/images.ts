/** Real images for tests, drawn with sharp from SVG. */
import sharp from "sharp";

/** A coloured shape on a plain background, as PNG or JPEG. */
export async function productPhoto(
  options: { format: "png" | "jpeg" | "webp"; color?: string; background?: string; size?: number } = { format: "png" },
): Promise<Uint8Array> {
  const size = options.size ?? 320;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">
    <rect width="100%" height="100%" fill="${options.background ?? "#ffffff"}"/>
    <path d="M ${size * 0.15} ${size * 0.6} Q ${size * 0.3} ${size * 0.35} ${size * 0.55} ${size * 0.4} L ${size * 0.85} ${size * 0.55} L ${size * 0.85} ${size * 0.72} L ${size * 0.15} ${size * 0.72} Z" fill="${options.color ?? "#d01010"}"/>
  </svg>`;
  const image = sharp(Buffer.from(svg));
  const encoded = options.format === "png" ? image.png() : options.format === "jpeg" ? image.jpeg({ quality: 90 }) : image.webp();
  return new Uint8Array(await encoded.toBuffer());
}

export async function hasAlpha(bytes: Uint8Array): Promise<boolean> {
  return (await sharp(bytes).metadata()).hasAlpha === true;
}
