/** The upload every request sends: a 600×400 WebP of an object on a graded studio backdrop, drawn once with sharp. */
import sharp from "sharp";

export const BENCH_IMAGE = { width: 600, height: 400, format: "webp", contentType: "image/webp", filename: "item.webp" } as const;

export async function benchImage(): Promise<Uint8Array> {
  const { width, height } = BENCH_IMAGE;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="backdrop" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="#f4f4f2"/><stop offset="1" stop-color="#b4b4b0"/>
    </linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#backdrop)"/>
    <path d="M110 300 L125 215 Q175 205 215 175 L275 140 Q305 132 320 160 Q355 212 420 226 Q495 240 495 285 L488 312 L118 312 Z" fill="#c0392b"/>
    <path d="M118 296 L488 296 L488 312 L118 312 Z" fill="#fafafa"/>
    <text x="300" y="262" font-family="sans-serif" font-size="28" font-weight="bold" fill="#ffffff">AIR 1</text>
  </svg>`;
  return new Uint8Array(await sharp(Buffer.from(svg)).webp({ quality: 85 }).toBuffer());
}
