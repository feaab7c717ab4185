/**
 * CloudinaryStorage and CloudinaryBackgroundRemover through the real SDK and
 * fetch, against the local Cloudinary stand-in (no network).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { PermanentError, TransientError } from "@pipeline/runtime/errors";
import {
  type CloudinaryOptions,
  CloudinaryRateLimitError,
  CloudinaryStorage,
  cloudinaryOptionsFromConfig,
  createStorage,
  storageConfigSchema,
} from "@pipeline/storage";
import sharp from "sharp";
import { CloudinaryBackgroundRemover } from "../../services/ai-worker/src/background/cloudinary.ts";
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

/** Fast rate-limit waits, so the tests do not sleep for seconds. */
const QUICK_RATE_LIMIT = { retries: 2, delayMs: 20, maxWaitMs: 2_000 };

/** The stand-in's account: API at its (regional) prefix, delivery over plain HTTP on its host (the SDK's cname with secure=false). */
function storageFor(server: CloudinaryStandIn, overrides: Partial<CloudinaryOptions> = {}): CloudinaryStorage {
  const { cloudName, apiKey, apiSecret } = server;
  const delivery = server.deliveryHost ? { cname: server.deliveryHost, privateCdn: true } : { cname: new URL(server.url).host };
  return new CloudinaryStorage({
    cloudName,
    apiKey,
    apiSecret,
    uploadPrefix: server.apiUrl,
    secure: false,
    ...delivery,
    rateLimit: QUICK_RATE_LIMIT,
    ...overrides,
  });
}

function accountUrl(server: CloudinaryStandIn, query = "") {
  return `cloudinary://${server.apiKey}:${server.apiSecret}@${server.cloudName}?cname=${new URL(server.url).host}&secure=false${query}`;
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
  test("a real PNG goes up signed under a public_id of ours; the URL kept is the SDK's for it", async () => {
    const { url } = await saveOriginal();

    const upload = standIn.requests.at(-1)!;
    expect(upload).toMatchObject({ method: "POST", path: `/v1_1/${standIn.cloudName}/image/upload`, status: 200 });
    expect(upload.fields).toMatchObject({ api_key: standIn.apiKey });
    expect(upload.fields?.public_id).toMatch(/^originals\/[0-9a-f]{32}$/);
    expect(upload.fields?.signature).toMatch(/^[0-9a-f]{40}$/);
    const asset = [...standIn.assets.values()].at(-1)!;
    expect(asset.bytes).toEqual(png);
    expect(asset.publicId).toBe(upload.fields!.public_id!);
    expect(url).toBe(`${standIn.url}/${standIn.cloudName}/image/upload/v${asset.version}/${asset.publicId}.png`);
  });

  test("processed images go to their own folder", async () => {
    const { url } = await storage.save(png, { kind: "processed", contentType: "image/png" });
    expect(standIn.requests.at(-1)?.fields?.public_id).toStartWith("processed/");
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
      const base = `cloudinary://${apiKey}:${apiSecret}@${cloudName}?cname=${new URL(url).host}&secure=false`;
      const sha256 = new CloudinaryStorage(
        cloudinaryOptionsFromConfig({ CLOUDINARY_URL: `${base}&signature_algorithm=sha256`, CLOUDINARY_UPLOAD_PREFIX: url }),
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
      CLOUDINARY_URL: accountUrl(standIn, `&upload_prefix=${standIn.url}`),
    });
    const fromFactory = createStorage(config);
    expect(fromFactory).toBeInstanceOf(CloudinaryStorage);
    const { url } = await saveOriginal(fromFactory as CloudinaryStorage);
    expect(fromFactory.owns(url)).toBe(true);
  });

  test("420 and 429 on an upload are waited out in place; when they go on, a CloudinaryRateLimitError (transient)", async () => {
    for (const status of [420, 429]) {
      standIn.failNext("upload", { status });
      const before = standIn.requests.length;
      const { url } = await saveOriginal();
      expect(standIn.requests.slice(before).map((r) => r.status)).toEqual([status, 200]);
      expect(storage.owns(url)).toBe(true);
    }
    for (let i = 0; i <= QUICK_RATE_LIMIT.retries; i++) standIn.failNext("upload", { status: 420 });
    const error = await saveOriginal().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloudinaryRateLimitError);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain("420");
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

  test("load classifies failures: 404 permanent; 500, lasting 429s and network errors transient", async () => {
    const { url } = await saveOriginal();
    const missing = url.replace(/[0-9a-f]+\.png$/, "missing.png");
    expect(await storage.load(missing).catch((e: unknown) => e)).toBeInstanceOf(PermanentError);
    standIn.failNext("delivery", { status: 500 });
    const failed = await storage.load(url).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(TransientError);
    expect((failed as Error).message).toContain("500");
    for (let i = 0; i <= QUICK_RATE_LIMIT.retries; i++) standIn.failNext("delivery", { status: 429 });
    const limited = await storage.load(url).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(CloudinaryRateLimitError);
    expect((limited as Error).message).toContain("429");
    const gone = startCloudinaryStandIn();
    await gone.stop();
    const error = await storageFor(gone)
      .load(`${gone.url}/${gone.cloudName}/image/upload/v1/originals/x.png`)
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

  test("500, lasting 420s and 429s, a network failure and an abort are TransientErrors", async () => {
    const { url } = await saveOriginal();
    for (const status of [500, 420, 429]) {
      const times = status === 500 ? 1 : QUICK_RATE_LIMIT.retries + 1;
      for (let i = 0; i < times; i++) standIn.failNext("destroy", { status });
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
  const remover = () => new CloudinaryBackgroundRemover(storage, { pollDelayMs: 20, maxPollDelayMs: 50, maxWaitMs: 2_000 });

  function removeFrom(originalUrl: string, signal = AbortSignal.timeout(10_000)) {
    return remover().remove({ original: png, originalUrl, signal });
  }

  test("the derived URL is the SDK's signed URL: host, version and public id kept, PNG asked for", async () => {
    const hosted = new CloudinaryStorage({ cloudName: "demo", apiKey: "k", apiSecret: "s3cr3t" });
    const derived = await hosted.derivedUrl("https://res.cloudinary.com/demo/image/upload/v1712/originals/abc.jpg", "e_background_removal", "png");
    const signature = createHash("sha1")
      .update("e_background_removal/originals/abc.png" + "s3cr3t")
      .digest("base64url")
      .slice(0, 8);
    expect(derived).toBe(`https://res.cloudinary.com/demo/image/upload/s--${signature}--/e_background_removal/v1712/originals/abc.png`);
    expect(hosted.owns(derived)).toBe(true);
    expect(hosted.publicIdOf(derived)).toBe("originals/abc");
    expect(await hosted.derivedUrl("https://example.com/abc.jpg", "e_background_removal", "png").catch((e: unknown) => e)).toBeInstanceOf(PermanentError);
    expect(await hosted.derivedUrl(derived, "e_background_removal", "png").catch((e: unknown) => e)).toBeInstanceOf(PermanentError);
  });

  test("SHA-256 accounts get SHA-256 URL signatures", async () => {
    const hosted = new CloudinaryStorage({ cloudName: "demo", apiKey: "k", apiSecret: "s3cr3t", signatureAlgorithm: "sha256" });
    const derived = await hosted.derivedUrl("https://res.cloudinary.com/demo/image/upload/v1/originals/abc.jpg", "e_background_removal", "png");
    const signature = createHash("sha256")
      .update("e_background_removal/originals/abc.png" + "s3cr3t")
      .digest("base64url")
      .slice(0, 8);
    expect(derived).toContain(`/s--${signature}--/`);
  });

  test("waits through 423s, then returns a PNG whose background is transparent", async () => {
    const { url } = await saveOriginal();
    const { png: cutout, confidence } = await removeFrom(url);
    expect(confidence).toBeUndefined(); // Cloudinary does not say how sure it is

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
    const patient = new CloudinaryBackgroundRemover(storage, { pollDelayMs: 5_000 });
    const started = performance.now();
    const error = await patient.remove({ original: png, originalUrl: url, signal: AbortSignal.timeout(150) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  test("gives up with a TransientError when the add-on takes longer than maxWaitMs", async () => {
    const slowStandIn = startCloudinaryStandIn({ backgroundRemovalPending: 1_000 });
    try {
      const slowStorage = storageFor(slowStandIn);
      const { url } = await saveOriginal(slowStorage);
      const hurried = new CloudinaryBackgroundRemover(slowStorage, { pollDelayMs: 10, maxWaitMs: 60 });
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
    const missing = url.replace(/[0-9a-f]+\.png$/, "missing.png");
    expect(await removeFrom(missing).catch((e: unknown) => e)).toBeInstanceOf(PermanentError);
    expect(await removeFrom("https://example.com/cat.jpg").catch((e: unknown) => e)).toBeInstanceOf(PermanentError);
  });
});

describe("Strict Transformations, regions and custom domains", () => {
  const quickRemover = (target: CloudinaryStorage) => new CloudinaryBackgroundRemover(target, { pollDelayMs: 10, maxWaitMs: 2_000 });

  async function withStandIn<T>(options: Parameters<typeof startCloudinaryStandIn>[0], run: (server: CloudinaryStandIn) => Promise<T>) {
    const server = startCloudinaryStandIn(options);
    try {
      return await run(server);
    } finally {
      await server.stop();
    }
  }

  for (const strict of [true, false]) {
    test(`strict ${strict ? "on" : "off"}: the signed cut-out URL is delivered and kept as the processed image`, () =>
      withStandIn({ strict, backgroundRemovalPending: 1 }, async (server) => {
        const target = storageFor(server);
        const { url } = await saveOriginal(target);
        const remover = quickRemover(target);
        const { png: cutout, storedUrl } = await remover.remove({ original: png, originalUrl: url, signal: AbortSignal.timeout(5_000) });

        const derived = storedUrl!;
        expect(derived).toMatch(/\/image\/upload\/s--[A-Za-z0-9_-]{8}--\/e_background_removal\/v\d+\/originals\/[0-9a-f]{32}\.png$/);
        expect(target.owns(derived)).toBe(true);
        expect(await target.load(derived)).toEqual(cutout);
        expect(server.requests.filter((r) => r.path.includes("e_background_removal")).map((r) => r.status)).toEqual([423, 200, 200]);
        // One upload only: the cut-out is not stored a second time.
        expect(server.requests.filter((r) => r.method === "POST")).toHaveLength(1);
        // Removing the derived image leaves the original; destroying the original takes both.
        expect(await target.remove(derived)).toBe(false);
        expect(await target.remove(url)).toBe(true);
        expect(await target.load(derived).catch((e: unknown) => e)).toBeInstanceOf(PermanentError);
      }));
  }

  test("strict: an unsigned transformation is refused with 401 and X-Cld-Error, as Cloudinary does; off, it is delivered", async () => {
    for (const strict of [true, false]) {
      await withStandIn({ strict }, async (server) => {
        const target = storageFor(server);
        const { url } = await saveOriginal(target);
        const unsigned = url.replace("/image/upload/", "/image/upload/e_background_removal/").replace(/\.png$/, ".png");
        const response = await fetch(unsigned);
        await response.body?.cancel();
        if (strict) {
          expect(response.status).toBe(401);
          expect(response.headers.get("x-cld-error")).toBe("Transformation e_background_removal/ is not allowed");
        } else {
          expect(response.status).toBe(200);
        }
        // The stored image itself needs no signature either way.
        expect(await target.load(url)).toEqual(png);
      });
    }
  });

  test("a wrongly signed URL is refused with 401 (a PermanentError), in strict mode and out of it", async () => {
    for (const strict of [true, false]) {
      await withStandIn({ strict }, async (server) => {
        const { url } = await saveOriginal(storageFor(server));
        const wrong = storageFor(server, { apiSecret: "not-the-secret" });
        const derived = await wrong.derivedUrl(url, "e_background_removal", "png");
        const response = await fetch(derived);
        expect(response.status).toBe(401);
        expect(response.headers.get("x-cld-error")).toStartWith("Invalid signature");
        const error = await quickRemover(wrong)
          .remove({ original: png, originalUrl: url, signal: AbortSignal.timeout(5_000) })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PermanentError);
        expect((error as Error).message).toContain("401");
      });
    }
  });

  test("a regional upload_prefix and a custom delivery domain from CLOUDINARY_URL: uploads go to the region, URLs name the domain", () =>
    withStandIn({ region: "eu", deliveryHost: "images.collector.localhost", strict: true }, async (server) => {
      // The shared API path is not this cloud's region: the default upload_prefix fails.
      const shared = storageFor(server, { uploadPrefix: server.url });
      expect(await saveOriginal(shared).catch((e: unknown) => e)).toBeInstanceOf(PermanentError);

      const config = storageConfigSchema.parse({
        STORAGE: "cloudinary",
        CLOUDINARY_URL: `cloudinary://${server.apiKey}:${server.apiSecret}@${server.cloudName}?upload_prefix=${server.apiUrl}&private_cdn=true&cname=${server.deliveryHost}&secure=false`,
      });
      const target = new CloudinaryStorage({ ...cloudinaryOptionsFromConfig(config), rateLimit: QUICK_RATE_LIMIT });
      const { url } = await saveOriginal(target);
      expect(server.requests.at(-1)).toMatchObject({ path: `/api-eu/v1_1/${server.cloudName}/image/upload`, status: 200 });
      expect(url).toStartWith(`http://${server.deliveryHost}/image/upload/v`);
      expect(await target.load(url)).toEqual(png);
      expect(server.requests.at(-1)?.host).toBe(server.deliveryHost!);

      const remover = quickRemover(target);
      const cutout = await remover.remove({ original: png, originalUrl: url, signal: AbortSignal.timeout(5_000) });
      expect(cutout.storedUrl).toStartWith(`http://${server.deliveryHost}/image/upload/s--`);
      expect(await target.remove(url)).toBe(true);
      expect(server.requests.at(-1)?.path).toBe(`/api-eu/v1_1/${server.cloudName}/image/destroy`);
    }));

  test("a derived download answered 429 or 420 with Retry-After waits that long, then gets the cut-out", async () => {
    const { url } = await saveOriginal();
    for (const status of [429, 420]) {
      standIn.failNext("delivery", { status, retryAfter: "1" });
      const started = performance.now();
      const remover = quickRemover(storage);
      const cutout = await remover.remove({ original: png, originalUrl: url, signal: AbortSignal.timeout(5_000) });
      expect(performance.now() - started).toBeGreaterThanOrEqual(990);
      expect((await sharp(cutout.png).metadata()).format).toBe("png");
    }
  });

  test("a Retry-After longer than the policy waits is left to the job: a transient CloudinaryRateLimitError at once", async () => {
    const { url } = await saveOriginal();
    standIn.failNext("delivery", { status: 429, retryAfter: "120" });
    const error = await quickRemover(storage)
      .remove({ original: png, originalUrl: url, signal: AbortSignal.timeout(5_000) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloudinaryRateLimitError);
    expect((error as CloudinaryRateLimitError).retryAfterMs).toBe(120_000);
  });
});
