/**
 * End to end: the whole pipeline on the hosted providers, each
 * reached through its real client: Cloudinary (an account on another region,
 * a custom delivery domain and Strict Transformations: the SDK's signed upload
 * of the original to the regional API, the cut-out from a signed
 * e_background_removal URL answering 423 while it works, kept as the
 * processed image without a second upload) and an OpenAI-compatible vision
 * endpoint. Both are local stand-ins.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { assetProcessedSuccessSchema } from "@pipeline/contracts/events";
import { upload } from "../helpers/api.ts";
import { productPhoto } from "../helpers/images.ts";
import { assetOf, waitForEvent } from "../helpers/outcomes.ts";
import { connectRecording, type RecordingSocket } from "../helpers/sockets.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";
import { type CloudinaryStandIn, startCloudinaryStandIn } from "../standins/cloudinary.ts";
import { type OpenAiStandIn, SAMPLE_METADATA, startOpenAiStandIn } from "../standins/openai.ts";

let cloud: CloudinaryStandIn;
let ai: OpenAiStandIn;
let stack: Stack;
let socket: RecordingSocket;
const user = newUserId();
let token: string;

beforeAll(async () => {
  cloud = startCloudinaryStandIn({
    cloudName: "collector",
    apiKey: "123456",
    apiSecret: "s3cr3t",
    backgroundRemovalPending: 2,
    strict: true,
    region: "eu",
    deliveryHost: "images.collector.localhost",
  });
  ai = startOpenAiStandIn({ apiKey: "sk-test" });
  stack = await Stack.start({
    env: {
      STORAGE: "cloudinary",
      // Plain HTTP (secure=false, delivery on the cname) only because the stand-in has no TLS.
      CLOUDINARY_URL: `cloudinary://${cloud.apiKey}:${cloud.apiSecret}@${cloud.cloudName}?upload_prefix=${cloud.apiUrl}&private_cdn=true&cname=${cloud.deliveryHost}&secure=false`,
      BACKGROUND_REMOVAL: "cloudinary",
      ANALYZER: "openai",
      AI_BASE_URL: ai.url,
      AI_API_KEY: "sk-test",
      AI_MODEL: "vision-stand-in",
    },
  });
  stack.onStop(cloud);
  stack.onStop(ai);
  token = await tokenFor(user);
  socket = stack.onStop(await connectRecording(stack.get("notifier").url, token));
}, 60_000);

afterAll(() => stack?.stop());

test("an upload goes through Cloudinary (strict, regional, custom domain) and the vision model to a success event", async () => {
  const response = await upload(stack.gatewayUrl, token, { image: await productPhoto({ format: "jpeg" }), category: "sneaker", type: "image/jpeg" });
  expect(response.status).toBe(202);
  const { assetId } = await response.json();
  const event = assetProcessedSuccessSchema.parse(await waitForEvent(socket, assetId, 45_000));

  // The metadata is the model's, validated; the cut-out is Cloudinary's derived image, delivered by Cloudinary.
  expect(event.aiMetadata).toEqual(SAMPLE_METADATA);
  const deliveryBase = `http://${cloud.deliveryHost}/image/upload/`;
  const asset = await assetOf(stack.gatewayUrl, token, assetId);
  expect(asset.images.original.url).toMatch(new RegExp(`^${deliveryBase}v\\d+/originals/[0-9a-f]{32}\\.jpg$`));
  const original = asset.images.original.url.slice(deliveryBase.length).replace(/\.jpg$/, "");
  expect(event.processedImageUrl).toMatch(new RegExp(`^${deliveryBase}s--[A-Za-z0-9_-]{8}--/e_background_removal/${original}\\.png$`));
  expect(asset.images.processed.url).toBe(event.processedImageUrl);
  // The Asset says where its metadata came from; the event keeps the seed's fields only.
  expect(asset.aiMetadata.source).toEqual({ analyzer: "openai", model: "vision-stand-in", calibrated: false });
  expect(Object.keys(event.aiMetadata).sort()).toEqual(["brand", "colorway", "model"]);
  expect(ai.requests.at(-1)?.temperature).toBe(0);
  const delivered = await fetch(event.processedImageUrl);
  expect(delivered.status).toBe(200);
  expect(delivered.headers.get("content-type")).toBe("image/png");
  await delivered.body?.cancel();

  // One signed upload, to the regional API; the signed background removal polled through its 423s on the custom host.
  const uploads = cloud.requests.filter((r) => r.method === "POST");
  expect(uploads.map((r) => [r.path, r.status])).toEqual([[`/api-eu/v1_1/${cloud.cloudName}/image/upload`, 200]]);
  const removals = cloud.requests.filter((r) => r.path.includes("e_background_removal"));
  expect(removals.map((r) => r.status)).toEqual([423, 423, 200, 200]);
  expect(removals.every((r) => r.host === cloud.deliveryHost && r.path.startsWith("/image/upload/s--"))).toBe(true);

  // The model got the image as a data URL with the bearer key.
  expect(ai.requests).toHaveLength(1);
  expect(ai.requests[0]!.authorization).toBe("Bearer sk-test");
  expect(ai.requests[0]!.problems).toEqual([]);
  expect(ai.requests[0]!.image?.width).toBeGreaterThan(0);
});
