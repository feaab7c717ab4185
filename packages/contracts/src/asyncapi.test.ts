import { describe, expect, test } from "bun:test";
import { asyncApiDocument } from "./asyncapi.ts";
import { CLIENT_EVENTS } from "./events.ts";

const doc = asyncApiDocument({ notifierUrl: "http://127.0.0.1:3002" });

describe("asyncApiDocument", () => {
  test("is AsyncAPI 3.1 with the notifier as a socket.io server", () => {
    expect(doc.asyncapi).toBe("3.1.0");
    expect(doc.servers.notifier).toMatchObject({ host: "127.0.0.1:3002", protocol: "ws", pathname: "/socket.io/" });
  });

  test("has a receive operation and a message for every event of the client-event map", () => {
    const names = Object.values(doc.channels.userRoom.messages).map((message) => message.name);
    for (const event of CLIENT_EVENTS) {
      expect(doc.operations).toHaveProperty(`receive_${event}`);
      expect(names).toContain(event);
    }
  });

  test("asset_processed is split into its success and failure payloads", () => {
    const { asset_processed_active, asset_processed_failed } = doc.channels.userRoom.messages as Record<
      string,
      { payload: { schema: { required: string[] } } }
    >;
    expect(asset_processed_active?.payload.schema.required).toContain("aiMetadata");
    expect(asset_processed_failed?.payload.schema.required).toContain("error");
  });

  test("every operation's message refs resolve", () => {
    for (const operation of Object.values(doc.operations) as { messages: { $ref: string }[] }[]) {
      for (const { $ref } of operation.messages) {
        const id = $ref.split("/").pop() as string;
        expect(doc.channels.userRoom.messages).toHaveProperty(id);
      }
    }
  });
});
