import { afterAll, describe, expect, test } from "bun:test";
import { TransientError } from "@pipeline/runtime/errors";
import { analyzeImage, closeOcr, loadCatalogue, removeBackground, UnreadableImageError } from "@pipeline/vision";
import sharp from "sharp";
import { CRASH } from "./crashing-thread.test-helpers.ts";
import { VisionPool } from "./pool.ts";

/** A camera with its name printed on it, on a plain backdrop. */
async function photo(width = 1024, height = 768): Promise<Uint8Array> {
  const s = width / 1024;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#f2f2f2"/>
    <g transform="scale(${s})"><rect x="200" y="250" width="620" height="360" rx="40" fill="#222"/>
    <text x="240" y="320" font-family="DejaVu Sans" font-weight="bold" font-size="48" fill="#fff">Canon EOS R5</text></g></svg>`;
  return new Uint8Array(await sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer());
}

const catalogue = loadCatalogue();
const warnings: string[] = [];
const logger = { warn: (_: object, message: string) => void warnings.push(message) };
const pools: VisionPool[] = [];
function pool(options: { threads?: number; entry?: URL } = {}): VisionPool {
  const started = new VisionPool({ threads: options.threads ?? 1, catalogue, logger, ...(options.entry ? { entry: options.entry } : {}) });
  pools.push(started);
  return started;
}
const signal = () => new AbortController().signal;

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await closeOcr();
});

describe("VisionPool", () => {
  test("answers what the library answers in this thread, and the caller keeps its bytes", async () => {
    const original = await photo();
    const threads = pool({ threads: 2 });

    const cutout = await threads.removeBackground(original, signal());
    const metadata = await threads.analyze({ original, cutout: cutout.png, cutoutConfidence: cutout.confidence, category: "camera" }, signal());

    const here = await removeBackground(original);
    expect(Buffer.from(cutout.png).equals(Buffer.from(here.png))).toBe(true);
    expect(cutout.confidence).toBe(here.confidence);
    expect(metadata).toEqual(await analyzeImage({ original, cutout: here.png, cutoutConfidence: here.confidence, category: "camera" }, { catalogue }));
    expect(metadata.model.value).toBe("EOS R5");
    expect(original.byteLength).toBeGreaterThan(0); // cloned to the thread, not transferred away
  }, 60_000);

  test("bytes that are not an image fail as an UnreadableImageError (permanent), and the thread goes on", async () => {
    const threads = pool();
    const error = await threads.removeBackground(new TextEncoder().encode("not an image"), signal()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnreadableImageError);
    expect((await threads.removeBackground(await photo(320, 240), signal())).png.byteLength).toBeGreaterThan(0);
  });

  test("an aborted task rejects with the signal's reason; the thread then takes the next task", async () => {
    const threads = pool();
    const controller = new AbortController();
    const reason = new Error("attempt timed out");
    const running = threads.removeBackground(await photo(4000, 3000), controller.signal);
    const waiting = threads.removeBackground(await photo(320, 240), signal());
    controller.abort(reason);

    expect(await running.catch((e: unknown) => e)).toBe(reason);
    expect((await waiting).png.byteLength).toBeGreaterThan(0);
  }, 60_000);

  test("a thread that dies fails its task as a TransientError and is replaced", async () => {
    const threads = pool({ entry: new URL("./crashing-thread.test-helpers.ts", import.meta.url) });
    const error = await threads.removeBackground(CRASH, signal()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain("exit code 7");
    expect(warnings).toContain("vision thread stopped; replacing it");

    expect((await threads.removeBackground(await photo(320, 240), signal())).png.byteLength).toBeGreaterThan(0);
  }, 60_000);

  test("close() lets the task in flight finish, refuses what waits and what comes after", async () => {
    const threads = pool();
    const inFlight = threads.removeBackground(await photo(), signal());
    const waiting = threads.removeBackground(await photo(320, 240), signal()).catch((e: unknown) => e);
    await threads.close();

    expect((await inFlight).png.byteLength).toBeGreaterThan(0);
    expect(await waiting).toBeInstanceOf(TransientError);
    expect(await threads.removeBackground(await photo(320, 240), signal()).catch((e: unknown) => e)).toBeInstanceOf(TransientError);
  }, 60_000);
});
