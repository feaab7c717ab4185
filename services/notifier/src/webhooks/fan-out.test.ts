import { describe, expect, test } from "bun:test";
import { deliveryIdFor, fanOutJobIdFor } from "./fan-out.ts";

describe("webhook job ids", () => {
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
