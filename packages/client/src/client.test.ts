import { describe, expect, test } from "bun:test";
import { ApiError, createClient, defaultNotifierUrl } from "./index.ts";

describe("createClient", () => {
  test("the notifier defaults to port 3002 next to a gateway on 3000, else the gateway itself", () => {
    expect(defaultNotifierUrl("http://127.0.0.1:3000")).toBe("http://127.0.0.1:3002");
    expect(defaultNotifierUrl("http://127.0.0.1:3000/")).toBe("http://127.0.0.1:3002");
    expect(defaultNotifierUrl("https://pipeline.example")).toBe("https://pipeline.example");
    expect(createClient({ baseUrl: "http://127.0.0.1:3000", token: "t" }).notifierUrl).toBe("http://127.0.0.1:3002");
    expect(createClient({ baseUrl: "http://127.0.0.1:3000", token: "t", notifierUrl: "http://127.0.0.1:9" }).notifierUrl).toBe("http://127.0.0.1:9");
  });

  test("an unreachable gateway is ApiError status 0, code unreachable, naming the URL", async () => {
    const client = createClient({ baseUrl: "http://127.0.0.1:1", token: "t" });
    const error = await client.get("65f1c0ffee0123456789abcd").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 0, code: "unreachable" });
    expect((error as ApiError).message).toContain("http://127.0.0.1:1/api/assets/65f1c0ffee0123456789abcd");
  });

  test("a non-2xx answer is ApiError with the body's code and message", async () => {
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => Response.json({ error: { code: "conflict", message: "asset is not failed" } }, { status: 409 }),
    });
    try {
      const client = createClient({ baseUrl: `http://127.0.0.1:${server.port}`, token: "t" });
      const error = await client.retry("65f1c0ffee0123456789abcd").catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({ status: 409, code: "conflict", message: "asset is not failed" });
    } finally {
      server.stop(true);
    }
  });

  test("an answer that breaks the contract is an ApiError, not a wrongly typed value", async () => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ items: "nope" }) });
    try {
      const client = createClient({ baseUrl: `http://127.0.0.1:${server.port}`, token: "t" });
      const error = await client
        .list()
        .next()
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: "invalid_response" });
    } finally {
      server.stop(true);
    }
  });
});
