import { afterAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { toPgm } from "./line-image.ts";
import { closeOcr, ocrWorkersStarted, recognise } from "./ocr.ts";

const HEIGHT = 64;

/** One line of text, `width` px wide, as a PGM (Tesseract's time grows with the width); the text repeats in tiles (SVG stops at 32767 px). */
async function textLine(width: number, text: string): Promise<Buffer> {
  const tileWidth = Math.min(width, 16_000);
  const repeated = text.repeat(Math.ceil(tileWidth / (text.length * 20)));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${tileWidth}" height="${HEIGHT}"><rect width="100%" height="100%" fill="#fff"/><text x="10" y="46" font-family="DejaVu Sans" font-size="36">${repeated}</text></svg>`;
  const tile = await sharp(Buffer.from(svg)).greyscale().raw().toBuffer();
  const data = new Uint8Array(width * HEIGHT);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < width; x += tileWidth) data.set(tile.subarray(y * tileWidth, y * tileWidth + Math.min(tileWidth, width - x)), y * width + x);
  }
  return toPgm({ width, height: HEIGHT, data });
}

const never = () => new AbortController().signal;
const textOf = (lines: { text: string }[]) => lines.map((l) => l.text).join(" ");

describe("OCR worker", () => {
  afterAll(closeOcr);

  test("a timed-out call frees the worker: the next small call is not held up by the abandoned one", async () => {
    const small = await textLine(400, "Canon EOS R5 ");
    // Warm: the worker is running and a small call's own cost is known.
    expect(textOf(await recognise(small, never()))).toContain("Canon");

    // Long lines (Tesseract's widest, ~2 s each on one free core) queued by an attempt that then times out:
    // left running, they would hold the worker for several seconds more.
    const long = await textLine(30_000, "Canon EOS R5 Mark II Nikon Z8 ");
    const timeout = new AbortController();
    const reason = new Error("attempt timed out");
    const startsBefore = ocrWorkersStarted();
    const abandoned = Array.from({ length: 4 }, () =>
      recognise(long, timeout.signal).then(
        () => "finished",
        (error: unknown) => error,
      ),
    );
    await Bun.sleep(300); // let the first start
    timeout.abort(reason);
    expect(await Promise.all(abandoned)).toEqual([reason, reason, reason, reason]);

    // The abandoned worker was replaced at once: the next call runs on a fresh one, not behind the long lines.
    expect(ocrWorkersStarted()).toBe(startsBefore + 1);
    const next = await recognise(small, never());
    expect(textOf(next)).toContain("Canon");
    expect(ocrWorkersStarted()).toBe(startsBefore + 1);
  }, 30_000);

  test("another job's call on the terminated worker runs again on the new one", async () => {
    const timeout = new AbortController();
    const abandoned = recognise(await textLine(30_000, "Canon EOS R5 Mark II "), timeout.signal).catch((error: unknown) => error);
    const bystander = recognise(await textLine(400, "Nikon Z8 "), never()); // queued behind the long call
    await Bun.sleep(300);
    timeout.abort(new Error("attempt timed out"));
    await abandoned;
    expect(textOf(await bystander)).toContain("Nikon");
  }, 30_000);

  test("a call already aborted never reaches the worker", async () => {
    const controller = new AbortController();
    const reason = new Error("cancelled");
    controller.abort(reason);
    await expect(recognise(await textLine(400, "Nikon "), controller.signal)).rejects.toBe(reason);
  });
});
