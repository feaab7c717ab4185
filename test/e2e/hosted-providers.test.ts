/**
 * End to end: the whole pipeline on the hosted providers, each
 * reached through its real client: Cloudinary (the SDK's signed uploads of
 * the original and the cut-out, e_background_removal answering 423 while it
 * works) and an OpenAI-compatible vision endpoint. Both are local stand-ins.
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
  cloud = await startCloudinaryStandIn({ cloudName: "collector", apiKey: "123456", apiSecret: "s3cr3t", backgroundRemovalPending: 2 });
  ai = startOpenAiStandIn({ apiKey: "sk-test" });
  stack = await Stack.start({
    env: {
      STORAGE: "cloudinary",
      CLOUDINARY_URL: `cloudinary://${cloud.apiKey}:${cloud.apiSecret}@${cloud.cloudName}`,
      CLOUDINARY_UPLOAD_PREFIX: cloud.url,
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

test("an upload goes through Cloudinary and the vision model to a success event", async () => {
  const response = await upload(stack.gatewayUrl, token, { image: await productPhoto({ format: "jpeg" }), category: "sneaker", type: "image/jpeg" });
  expect(response.status).toBe(202);
  const { assetId } = await response.json();
  const event = assetProcessedSuccessSchema.parse(await waitForEvent(socket, assetId, 45_000));

  // The metadata is the model's, validated; the cut-out is Cloudinary's, stored back in Cloudinary.
  expect(event.aiMetadata).toEqual(SAMPLE_METADATA);
  const deliveryBase = `${cloud.url}/${cloud.cloudName}/image/upload/`;
  expect(event.processedImageUrl.startsWith(deliveryBase)).toBe(true);
  const asset = await assetOf(stack.gatewayUrl, token, assetId);
  expect(asset.images.original.url.startsWith(deliveryBase)).toBe(true);
  expect(asset.images.processed.url).toBe(event.processedImageUrl);
  // The Asset says where its metadata came from; the event keeps the seed's fields only.
  expect(asset.aiMetadata.source).toEqual({ analyzer: "openai", model: "vision-stand-in", calibrated: false });
  expect(Object.keys(event.aiMetadata).sort()).toEqual(["brand", "colorway", "model"]);
  expect(ai.requests.at(-1)?.temperature).toBe(0);

  // Two signed uploads (original, processed), the background removal polled through its 423s.
  const uploads = cloud.requests.filter((r) => r.method === "POST" && r.path.endsWith("/image/upload"));
  expect(uploads.map((r) => r.status)).toEqual([200, 200]);
  const removals = cloud.requests.filter((r) => r.path.includes("e_background_removal"));
  expect(removals.map((r) => r.status)).toEqual([423, 423, 200]);

  // The model got the image as a data URL with the bearer key.
  expect(ai.requests).toHaveLength(1);
  expect(ai.requests[0]!.authorization).toBe("Bearer sk-test");
  expect(ai.requests[0]!.problems).toEqual([]);
  expect(ai.requests[0]!.image?.width).toBeGreaterThan(0);
});
