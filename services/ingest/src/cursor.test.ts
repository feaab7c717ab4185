import { describe, expect, test } from "bun:test";
import { decodeCursor, encodeCursor } from "./cursor.ts";

const ID = "65f1c0ffee0123456789abcd";
const AT = new Date("2024-05-01T10:20:30.456Z");
const raw = (text: string) => Buffer.from(text).toString("base64url");

describe("cursor", () => {
  test("decoding an encoded position gives the same time and id back", () => {
    const position = decodeCursor(encodeCursor({ createdAt: AT, id: ID }));

    expect(position).toEqual({ createdAt: AT, id: ID });
  });

  test("keeps millisecond precision, so items created in the same second are told apart", () => {
    const later = new Date(AT.getTime() + 1);

    expect(decodeCursor(encodeCursor({ createdAt: later, id: ID }))?.createdAt.getTime()).toBe(AT.getTime() + 1);
  });

  test("is URL-safe base64 with no padding", () => {
    expect(encodeCursor({ createdAt: AT, id: ID })).toMatch(/^[A-Za-z0-9_-]+$/);
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

  test("rejects extra parts", () => {
    expect(decodeCursor(raw(`${AT.toISOString()}|${ID}|more`))).toBeNull();
    expect(decodeCursor(raw(`${AT.toISOString()}|${ID}|`))).toBeNull();
  });
});
