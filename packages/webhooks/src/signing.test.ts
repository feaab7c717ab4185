import { describe, expect, test } from "bun:test";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { newSecret, secretKey, signatureHeaders } from "./signing.ts";

describe("signing", () => {
  test("a secret is whsec_ + base64 of 32 random bytes, different each time", () => {
    const secret = newSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(secretKey(secret)).toHaveLength(32);
    expect(newSecret()).not.toBe(secret);
  });

  test("the standardwebhooks package verifies the headers, and rejects a tampered body", () => {
    const secret = newSecret();
    const body = JSON.stringify({ type: "asset.processed", timestamp: "2024-05-01T10:20:30.456Z", data: { assetId: "65f1c0ffee0123456789abce" } });
    const headers = signatureHeaders({ id: "msg_0123456789abcdef", timestamp: Math.floor(Date.now() / 1000), body, secret });
    expect(headers["webhook-signature"]).toStartWith("v1,");
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body.replace("asset.processed", "asset.failed"), headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow(WebhookVerificationError);
  });
});
