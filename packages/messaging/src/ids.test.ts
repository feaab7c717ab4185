import { describe, expect, test } from "bun:test";
import { deliveryIdFor, fanOutJobIdFor, outcomeIdFor, runIdFor } from "./ids.ts";

describe("message ids", () => {
  test("a fan-out id has no ':' (BullMQ refuses it in custom ids) and keeps distinct outcomes distinct", () => {
    const ids = ["outcome-abc", "outcome:abc", "outcome%3Aabc", "a:b:c"].map(fanOutJobIdFor);
    for (const id of ids) expect(id).not.toContain(":");
    expect(new Set(ids).size).toBe(ids.length);
    expect(fanOutJobIdFor("outcome-abc")).toBe("fanout-outcome-abc");
  });

  test("a delivery id is msg_ + 32 hex, the same for the same outcome and webhook, different otherwise", () => {
    const id = deliveryIdFor("outcome-1", "65f1c0ffee0123456789abcd");
    expect(id).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(deliveryIdFor("outcome-1", "65f1c0ffee0123456789abcd")).toBe(id);
    expect(deliveryIdFor("outcome-2", "65f1c0ffee0123456789abcd")).not.toBe(id);
    expect(deliveryIdFor("outcome-1", "65f1c0ffee0123456789abce")).not.toBe(id);
  });
});

describe("run ids", () => {
  test("an Asset's first run is its id; each retry counts up from the run before, so no two runs share an outcome id", () => {
    const first = runIdFor("65f1c0ffee0123456789abcd");
    const second = runIdFor("65f1c0ffee0123456789abcd", first);
    const third = runIdFor("65f1c0ffee0123456789abcd", second);
    expect([first, second, third]).toEqual(["65f1c0ffee0123456789abcd", "65f1c0ffee0123456789abcd-r1", "65f1c0ffee0123456789abcd-r2"]);
    expect(new Set([first, second, third].map(outcomeIdFor)).size).toBe(3);
  });
});
