import { describe, expect, test } from "bun:test";
import { v2 as sdk } from "cloudinary";
import { cloudinaryOptionsFromConfig, deliveryPrefix, parseCloudinaryUrl } from "./cloudinary-config.ts";
import { retryAfterMs } from "./cloudinary-errors.ts";

describe("parseCloudinaryUrl", () => {
  test("reads the credentials and the SDK options the storage honours", () => {
    expect(parseCloudinaryUrl("cloudinary://key:se%2Fcret@demo")).toEqual({ cloudName: "demo", apiKey: "key", apiSecret: "se/cret" });
    expect(
      parseCloudinaryUrl(
        "cloudinary://k:s@demo?upload_prefix=https://api-eu.cloudinary.com/&secure_distribution=images.example.com&private_cdn=true&signature_algorithm=sha256",
      ),
    ).toEqual({
      cloudName: "demo",
      apiKey: "k",
      apiSecret: "s",
      uploadPrefix: "https://api-eu.cloudinary.com",
      secureDistribution: "images.example.com",
      privateCdn: true,
      signatureAlgorithm: "sha256",
    });
    expect(parseCloudinaryUrl("cloudinary://k:s@demo?cname=img.example.com&secure=false")).toMatchObject({ cname: "img.example.com", secure: false });
  });

  test("a path is the private CDN's secure distribution, as the SDK reads it", () => {
    expect(parseCloudinaryUrl("cloudinary://k:s@demo/images.example.com")).toMatchObject({ secureDistribution: "images.example.com", privateCdn: true });
  });

  test("refuses what the SDK would misread, naming the option", () => {
    expect(() => parseCloudinaryUrl("https://k:s@demo")).toThrow("cloudinary://");
    expect(() => parseCloudinaryUrl("cloudinary://k:s@demo?private_cdn=yes")).toThrow("private_cdn must be true or false");
    expect(() => parseCloudinaryUrl("cloudinary://k:s@demo?upload_prefix=api-eu.cloudinary.com")).toThrow("upload_prefix");
    expect(() => parseCloudinaryUrl("cloudinary://k:s@demo?cname=http://x/")).toThrow("cname");
    expect(() => parseCloudinaryUrl("cloudinary://k:s@demo?signature_algorithm=md5")).toThrow("signature_algorithm");
  });

  test("CLOUDINARY_UPLOAD_PREFIX wins over the URL's upload_prefix", () => {
    const account = cloudinaryOptionsFromConfig({
      CLOUDINARY_URL: "cloudinary://k:s@demo?upload_prefix=https://api-eu.cloudinary.com",
      CLOUDINARY_UPLOAD_PREFIX: "https://api-ap.cloudinary.com/",
    });
    expect(account.uploadPrefix).toBe("https://api-ap.cloudinary.com");
  });
});

describe("deliveryPrefix", () => {
  const cases = [
    {},
    { privateCdn: true },
    { secureDistribution: "images.example.com" },
    { secureDistribution: "images.example.com", privateCdn: true },
    { secure: false },
    { secure: false, cname: "img.example.com" },
    { secure: false, cname: "img.example.com", privateCdn: true },
    { secureDistribution: "cloudinary-a.akamaihd.net" },
  ];
  for (const delivery of cases) {
    test(`matches the SDK's url() for ${JSON.stringify(delivery)}`, () => {
      const built = sdk.url("originals/abc", {
        cloud_name: "demo",
        secure: delivery.secure ?? true,
        private_cdn: delivery.privateCdn ?? false,
        secure_distribution: delivery.secureDistribution ?? (delivery.privateCdn ? "demo-res.cloudinary.com" : "res.cloudinary.com"),
        ...(delivery.cname ? { cname: delivery.cname } : {}),
        urlAnalytics: false,
        format: "png",
        version: "1",
      });
      expect(built).toBe(`${deliveryPrefix({ cloudName: "demo", ...delivery })}/image/upload/v1/originals/abc.png`);
    });
  }
});

describe("retryAfterMs", () => {
  test("reads delay-seconds and HTTP dates; ignores what it cannot read", () => {
    expect(retryAfterMs("3")).toBe(3_000);
    expect(retryAfterMs("Wed, 21 Oct 2015 07:28:05 GMT", Date.parse("Wed, 21 Oct 2015 07:28:00 GMT"))).toBe(5_000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs("soon")).toBeUndefined();
  });
});
