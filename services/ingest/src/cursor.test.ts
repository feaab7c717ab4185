import { describe, expect, test } from "bun:test";
import { decodeCursor, encodeCursor } from "./cursor.ts";

const ID = "65f1c0ffee0123456789abcd";
const AT = new Date("2024-05-01T10:20:30.456Z");
const raw = (text: string) => Buffer.from(text).toString("base64url");

describe("cursor", () => {
  test("decoding an encoded position gives the same time, id and bucket back", () => {
    expect(decodeCursor(encodeCursor({ createdAt: AT, id: ID, bucket: 7 }))).toEqual({ createdAt: AT, id: ID, bucket: 7 });
    expect(decodeCursor(encodeCursor({ createdAt: AT, id: ID, bucket: 0 }))).toEqual({ createdAt: AT, id: ID, bucket: 0 });
  });

  test("a cursor made before buckets (time and id only) is accepted without a bucket", () => {
    expect(decodeCursor(raw(`${AT.toISOString()}|${ID}`))).toEqual({ createdAt: AT, id: ID });
    expect(decodeCursor(encodeCursor({ createdAt: AT, id: ID }))).toEqual({ createdAt: AT, id: ID });
  });

  test("keeps millisecond precision, so items created in the same second are told apart", () => {
    const later = new Date(AT.getTime() + 1);

    expect(decodeCursor(encodeCursor({ createdAt: later, id: ID }))?.createdAt.getTime()).toBe(AT.getTime() + 1);
  });

  test("is URL-safe base64 with no padding", () => {
    expect(encodeCursor({ createdAt: AT, id: ID, bucket: 31 })).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  test("rejects text that is not base64url of a position", () => {
    expect(decodeCursor("!!!not base64!!!")).toBeNull();
    expect(decodeCursor("")).toBeNull();
  });

  test("rejects a bad date", () => {
    expect(decodeCursor(raw(`not-a-date|${ID}`))).toBeNull();
  });

  test("rejects a bad or missing id", () => {
    expect(decodeCursor(raw(`${AT.toISOString()}|xyz`))).toBeNull();
    expect(decodeCursor(raw(`${AT.toISOString()}|${ID}0`))).toBeNull();
    expect(decodeCursor(raw(AT.toISOString()))).toBeNull();
  });

  test("rejects a bucket that is not a whole number", () => {
    for (const bucket of ["more", "", "-1", "1.5", "1e3", "9999999999"]) expect(decodeCursor(raw(`${AT.toISOString()}|${ID}|${bucket}`))).toBeNull();
  });

  test("rejects extra parts", () => {
    expect(decodeCursor(raw(`${AT.toISOString()}|${ID}|3|more`))).toBeNull();
    expect(decodeCursor(raw(`${AT.toISOString()}|${ID}|3|`))).toBeNull();
  });
});
