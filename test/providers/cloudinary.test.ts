/**
 * CloudinaryStorage and CloudinaryBackgroundRemover through the real SDK and
 * fetch, against the local Cloudinary stand-in (no network).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PermanentError, TransientError } from "@pipeline/runtime/errors";
import { CloudinaryStorage, cloudinaryOptionsFromConfig, createStorage, storageConfigSchema } from "@pipeline/storage";
import sharp from "sharp";
import { backgroundRemovalUrl, CloudinaryBackgroundRemover } from "../../services/ai-worker/src/background/cloudinary.ts";
import { type CloudinaryStandIn, startCloudinaryStandIn } from "../standins/cloudinary.ts";

const PENDING_REMOVALS = 2;
let standIn: CloudinaryStandIn;
let storage: CloudinaryStorage;
let png: Uint8Array;

beforeAll(async () => {
  standIn = startCloudinaryStandIn({ backgroundRemovalPending: PENDING_REMOVALS });
  storage = storageFor(standIn);
  png = await samplePng();
});
afterAll(() => standIn.stop());

function storageFor(server: CloudinaryStandIn, overrides: { apiSecret?: string } = {}): CloudinaryStorage {
  const { cloudName, apiKey, apiSecret } = server;
  return new CloudinaryStorage({ cloudName, apiKey, apiSecret, uploadPrefix: server.url, ...overrides });
}

/** A real 96x64 PNG: a red block on blue, so a cutout has something to keep. */
async function samplePng(): Promise<Uint8Array> {
  const block = await sharp({ create: { width: 48, height: 32, channels: 3, background: "#d22" } })
    .png()
    .toBuffer();
  const image = sharp({ create: { width: 96, height: 64, channels: 3, background: "#23c" } }).composite([{ input: block }]);
  return new Uint8Array(await image.png().toBuffer());
}

function saveOriginal(target = storage, signal?: AbortSignal) {
  return target.save(png, { kind: "original", contentType: "image/png", ...(signal ? { signal } : {}) });
}

describe("CloudinaryStorage: uploads through the SDK", () => {
  test("a real PNG goes up signed; the stand-in's secure_url is what is kept", async () => {
    const { url } = await saveOriginal();

    const upload = standIn.requests.at(-1)!;
    expect(upload).toMatchObject({ method: "POST", path: `/v1_1/${standIn.cloudName}/image/upload`, status: 200 });
    expect(upload.fields).toMatchObject({ folder: "originals", api_key: standIn.apiKey });
    expect(upload.fields?.signature).toMatch(/^[0-9a-f]{40}$/);
    const asset = [...standIn.assets.values()].at(-1)!;
    expect(asset.bytes).toEqual(png);
    expect(url).toBe(`${standIn.url}/${standIn.cloudName}/image/upload/v${asset.version}/${asset.publicId}.png`);
    expect(asset.publicId).toStartWith("originals/");
  });

  test("processed images go to their own folder", async () => {
    const { url } = await storage.save(png, { kind: "processed", contentType: "image/png" });
    expect(standIn.requests.at(-1)?.fields?.folder).toBe("processed");
    expect(url).toContain("/image/upload/v");
    expect(url).toContain("/processed/");
  });

  test("a wrong secret is refused by the signature check with a PermanentError", async () => {
    const error = await saveOriginal(storageFor(standIn, { apiSecret: "not-the-secret" })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain("401");
    expect((error as Error).message).toContain("Invalid Signature");
    expect(standIn.requests.at(-1)?.status).toBe(401);
  });

  test("CLOUDINARY_URL's signature_algorithm=sha256 signs as an account on SHA-256 expects", async () => {
    const sha256StandIn = startCloudinaryStandIn({ signatureAlgorithm: "sha256" });
    try {
      const { apiKey, apiSecret, cloudName, url } = sha256StandIn;
      const base = `cloudinary://${apiKey}:${apiSecret}@${cloudName}`;
      const sha256 = new CloudinaryStorage(
        cloudinaryOptionsFromConfig({ CLOUDINARY_URL: `${base}?signature_algorithm=sha256`, CLOUDINARY_UPLOAD_PREFIX: url }),
      );
      const sha1 = new CloudinaryStorage(cloudinaryOptionsFromConfig({ CLOUDINARY_URL: base, CLOUDINARY_UPLOAD_PREFIX: url }));

      expect(await saveOriginal(sha1).catch((e: unknown) => e)).toBeInstanceOf(PermanentError);
      const { url: saved } = await saveOriginal(sha256);
      expect(sha256StandIn.requests.at(-1)?.fields?.signature).toMatch(/^[0-9a-f]{64}$/);
      expect(await sha256.load(saved)).toEqual(png);
    } finally {
      await sha256StandIn.stop();
    }
  });

  test("createStorage builds it from STORAGE=cloudinary", async () => {
    const config = storageConfigSchema.parse({
      STORAGE: "cloudinary",
      CLOUDINARY_URL: `cloudinary://${standIn.apiKey}:${standIn.apiSecret}@${standIn.cloudName}`,
      CLOUDINARY_UPLOAD_PREFIX: standIn.url,
    });
    const fromFactory = createStorage(config);
    expect(fromFactory).toBeInstanceOf(CloudinaryStorage);
    const { url } = await saveOriginal(fromFactory as CloudinaryStorage);
    expect(fromFactory.owns(url)).toBe(true);
  });

  test("an upload answered 500 is a TransientError", async () => {
    standIn.failNext("upload", { status: 500 });
    const error = await saveOriginal().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain("500");
  });

  test("a 503, which the SDK reports as an unexpected response, is a TransientError", async () => {
    standIn.failNext("upload", { status: 503 });
    const error = await saveOriginal().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain("503");
  });

  test("bytes that are no image are refused for good (400)", async () => {
    const error = await storage.save(new TextEncoder().encode("not an image"), { kind: "original", contentType: "image/png" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain("Invalid image file");
  });

  test("an abort rejects at once and closes the stalled upload's connection", async () => {
    standIn.failNext("upload", { stall: true });
    const started = performance.now();
    const error = await saveOriginal(storage, AbortSignal.timeout(200)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain("aborted");
    expect(performance.now() - started).toBeLessThan(1_500);
    const stalled = standIn.requests.at(-1)!;
    expect(await stalled.clientClosed).toBe(true);
    expect(stalled.status).toBeNull();
  }, 5_000);
});

describe("CloudinaryStorage: owns and load", () => {
  test("load returns the bytes of a saved image", async () => {
    const { url } = await saveOriginal();
    expect(storage.owns(url)).toBe(true);
    expect(await storage.load(url, AbortSignal.timeout(5_000))).toEqual(png);
  });

  test("owns only URLs under the configured cloud's delivery base", () => {
    const cloud = standIn.cloudName;
    expect(storage.owns(`${standIn.url}/${cloud}/image/upload/v1/originals/abc.png`)).toBe(true);
    expect(storage.owns(`${standIn.url}/other-cloud/image/upload/v1/originals/abc.png`)).toBe(false);
    expect(storage.owns(`${standIn.url}/${cloud}/image/upload/../../other-cloud/image/upload/x.png`)).toBe(false);
    expect(storage.owns(`https://res.cloudinary.com/${cloud}/image/upload/v1/originals/abc.png`)).toBe(false);
    expect(storage.owns("https://example.com/cat.png")).toBe(false);
    expect(storage.owns("not a url")).toBe(false);
  });

  test("without an upload prefix the delivery base is res.cloudinary.com/<cloud>", () => {
    const hosted = new CloudinaryStorage({ cloudName: "demo", apiKey: "k", apiSecret: "s" });
    expect(hosted.deliveryBase).toBe("https://res.cloudinary.com/demo/image/upload/");
    expect(hosted.owns("https://res.cloudinary.com/demo/image/upload/v1/originals/abc.jpg")).toBe(true);
    expect(hosted.owns("https://res.cloudinary.com/someone-else/image/upload/v1/abc.jpg")).toBe(false);
  });

  test("load refuses a foreign URL with a PermanentError, without requesting it", async () => {
    const before = standIn.requests.length;
    const error = await storage.load(`${standIn.url}/other-cloud/image/upload/v1/x.png`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect(standIn.requests.length).toBe(before);
  });

  test("load classifies failures: 404 permanent; 500, 429 and network errors transient", async () => {
    const { url } = await saveOriginal();
    const missing = url.replace(/[a-z0-9]+\.png$/, "missing.png");
    expect(await storage.load(missing).catch((e: unknown) => e)).toBeInstanceOf(PermanentError);
    for (const status of [500, 429]) {
      standIn.failNext("delivery", { status });
      const error = await storage.load(url).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientError);
      expect((error as Error).message).toContain(String(status));
    }
    const gone = startCloudinaryStandIn();
    await gone.stop();
    const error = await storageFor(gone)
      .load(`${gone.url}/${gone.cloudName}/image/upload/v1/x.png`)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
  });
});

describe("CloudinaryStorage: remove", () => {
  const destroyPath = () => `/v1_1/${standIn.cloudName}/image/destroy`;

  test("destroys a saved image through the signed API: true, its delivery turns 404, a second remove is false", async () => {
    const { url } = await saveOriginal();
    const publicId = storage.publicIdOf(url)!;
    expect(standIn.assets.has(publicId)).toBe(true);

    expect(await storage.remove(url)).toBe(true);
    const destroy = standIn.requests.at(-1)!;
    expect(destroy).toMatchObject({ method: "POST", path: destroyPath(), status: 200 });
    expect(destroy.fields).toMatchObject({ public_id: publicId, invalidate: "true", api_key: standIn.apiKey });
    expect(destroy.fields?.signature).toMatch(/^[0-9a-f]{40}$/);
    expect(standIn.assets.has(publicId)).toBe(false);

    const delivery = await fetch(url);
    expect(delivery.status).toBe(404);
    expect(await storage.load(url).catch((e: unknown) => e)).toBeInstanceOf(PermanentError);

    expect(await storage.remove(url)).toBe(false);
    expect(standIn.requests.at(-1)).toMatchObject({ path: destroyPath(), status: 200 });
  });

  test("the public_id is the URL's path under the delivery base, without version or extension", () => {
    const base = storage.deliveryBase;
    expect(storage.publicIdOf(`${base}v1712/originals/abc.png`)).toBe("originals/abc");
    expect(storage.publicIdOf(`${base}processed/abc.webp?x=1`)).toBe("processed/abc");
    expect(storage.publicIdOf(`${base}v1712/originals/a%20b.jpg`)).toBe("originals/a b");
    expect(storage.publicIdOf(`${standIn.url}/other-cloud/image/upload/v1/originals/abc.png`)).toBeNull();
    expect(storage.publicIdOf(`${base}v1712/`)).toBeNull();
  });

  test("refuses a foreign URL with a PermanentError, without requesting anything", async () => {
    const before = standIn.requests.length;
    for (const url of [`${standIn.url}/other-cloud/image/upload/v1/x.png`, "https://example.com/cat.png", storage.deliveryBase]) {
      expect(await storage.remove(url).catch((e: unknown) => e)).toBeInstanceOf(PermanentError);
    }
    expect(standIn.requests.length).toBe(before);
  });

  test("a wrong secret is refused by the signature check with a PermanentError, and nothing is deleted", async () => {
    const { url } = await saveOriginal();
    const error = await storageFor(standIn, { apiSecret: "not-the-secret" })
      .remove(url)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain("Invalid Signature");
    expect(await storage.load(url)).toEqual(png);
  });

  test("500, 420 and 429 answers, a network failure and an abort are TransientErrors", async () => {
    const { url } = await saveOriginal();
    for (const status of [500, 420, 429]) {
      standIn.failNext("destroy", { status });
      const error = await storage.remove(url).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientError);
      expect((error as Error).message).toContain(String(status));
    }

    standIn.failNext("destroy", { stall: true });
    const aborted = await storage.remove(url, AbortSignal.timeout(200)).catch((e: unknown) => e);
    expect(aborted).toBeInstanceOf(TransientError);
    expect((aborted as Error).message).toContain("aborted");
    expect(await standIn.requests.at(-1)!.clientClosed).toBe(true);

    const gone = startCloudinaryStandIn();
    await gone.stop();
    const unreachable = await storageFor(gone)
      .remove(`${gone.url}/${gone.cloudName}/image/upload/v1/originals/x.png`)
      .catch((e: unknown) => e);
    expect(unreachable).toBeInstanceOf(TransientError);

    expect(await storage.remove(url)).toBe(true); // none of the failures deleted it
  }, 5_000);
});

describe("CloudinaryBackgroundRemover", () => {
  const remover = new CloudinaryBackgroundRemover({ pollDelayMs: 20, maxPollDelayMs: 50, maxWaitMs: 2_000 });

  function removeFrom(originalUrl: string, signal = AbortSignal.timeout(10_000)) {
    return remover.remove({ original: png, originalUrl, signal });
  }

  test("the transformation URL keeps host, version and public id, and asks for PNG", () => {
    expect(backgroundRemovalUrl("https://res.cloudinary.com/demo/image/upload/v1712/originals/abc.jpg")).toBe(
      "https://res.cloudinary.com/demo/image/upload/e_background_removal/v1712/originals/abc.png",
    );
    expect(() => backgroundRemovalUrl("https://example.com/abc.jpg")).toThrow(PermanentError);
  });

  test("waits through 423s, then returns a PNG whose background is transparent", async () => {
    const { url } = await saveOriginal();
    const cutout = await removeFrom(url);

    const removals = standIn.requests.filter((r) => r.path.includes("/e_background_removal/"));
    expect(removals.slice(-(PENDING_REMOVALS + 1)).map((r) => r.status)).toEqual([423, 423, 200]);
    const { data, info } = await sharp(cutout).raw().toBuffer({ resolveWithObject: true });
    expect((await sharp(cutout).metadata()).format).toBe("png");
    expect(info.channels).toBe(4);
    const alphaAt = (x: number, y: number) => data[(y * info.width + x) * 4 + 3];
    expect(alphaAt(0, 0)).toBe(0);
    expect(alphaAt(info.width >> 1, info.height >> 1)).toBe(255);
  });

  test("the signal stops the wait between polls", async () => {
    const { url } = await saveOriginal();
    const patient = new CloudinaryBackgroundRemover({ pollDelayMs: 5_000 });
    const started = performance.now();
    const error = await patient.remove({ original: png, originalUrl: url, signal: AbortSignal.timeout(150) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  test("gives up with a TransientError when the add-on takes longer than maxWaitMs", async () => {
    const slowStandIn = startCloudinaryStandIn({ backgroundRemovalPending: 1_000 });
    try {
      const { url } = await saveOriginal(storageFor(slowStandIn));
      const hurried = new CloudinaryBackgroundRemover({ pollDelayMs: 10, maxWaitMs: 60 });
      const error = await hurried.remove({ original: png, originalUrl: url, signal: AbortSignal.timeout(5_000) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientError);
      expect((error as Error).message).toContain("still processing");
    } finally {
      await slowStandIn.stop();
    }
  });

  test("500 is transient; 404 and a non-Cloudinary URL are permanent", async () => {
    const { url } = await saveOriginal();
    standIn.failNext("delivery", { status: 500 });
    expect(await removeFrom(url).catch((e: unknown) => e)).toBeInstanceOf(TransientError);
    const missing = url.replace(/[a-z0-9]+\.png$/, "missing.png");
    expect(await removeFrom(missing).catch((e: unknown) => e)).toBeInstanceOf(PermanentError);
    expect(await removeFrom("https://example.com/cat.jpg").catch((e: unknown) => e)).toBeInstanceOf(PermanentError);
  });
});
