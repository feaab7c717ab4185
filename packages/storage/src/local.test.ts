import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PermanentError } from "@pipeline/runtime/errors";
import { LocalStorage } from "./local.ts";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
let dir: string;
let storage: LocalStorage;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "local-storage-"));
  storage = new LocalStorage(dir, "http://127.0.0.1:3000");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("LocalStorage.remove", () => {
  test("deletes a saved file once: true, then false when it is already gone", async () => {
    const { url } = await storage.save(PNG, { kind: "original", contentType: "image/png" });
    const path = storage.pathOf(storage.nameOf(url)!)!;
    expect(await Bun.file(path).exists()).toBe(true);

    expect(await storage.remove(url)).toBe(true);
    expect(await Bun.file(path).exists()).toBe(false);
    expect(await storage.remove(url)).toBe(false);
  });

  test("leaves the other files alone", async () => {
    const kept = await storage.save(PNG, { kind: "processed", contentType: "image/png" });
    const removed = await storage.save(PNG, { kind: "original", contentType: "image/png" });
    await storage.remove(removed.url);
    expect(await storage.load(kept.url)).toEqual(PNG);
  });

  test("refuses a URL it does not own with a PermanentError", async () => {
    for (const url of [
      "https://example.com/media/0123456789abcdef0123456789abcdef-original.png",
      "http://127.0.0.1:3000/media/../secrets.png",
      "http://127.0.0.1:3000/media/not-ours.png",
    ]) {
      expect(await storage.remove(url).catch((e: unknown) => e)).toBeInstanceOf(PermanentError);
    }
  });
});
