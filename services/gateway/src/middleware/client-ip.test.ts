import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { clientIp, ipLimitKey } from "./client-ip.ts";

describe("clientIp", () => {
  // What Bun passes as the env: the server, which knows each request's socket.
  const server = { requestIP: () => ({ address: "192.0.2.10", family: "IPv4", port: 40000 }), timeout: () => undefined };
  const ipOf = async (hops: number, forwardedFor?: string) => {
    const app = new Hono();
    app.get("/", (c) => c.text(clientIp(c, hops)));
    return (await app.request("/", { headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {} }, server)).text();
  };

  test("the socket's address, X-Forwarded-For ignored, unless proxies are trusted", async () => {
    expect(await ipOf(0, "203.0.113.5")).toBe("192.0.2.10");
  });

  test("with N trusted proxies, the Nth entry from the right; the client's own entries never", async () => {
    expect(await ipOf(1, "6.6.6.6, 203.0.113.5")).toBe("203.0.113.5");
    expect(await ipOf(2, "6.6.6.6, 203.0.113.5, 10.0.0.2")).toBe("203.0.113.5");
    expect(await ipOf(2, "203.0.113.5")).toBe("192.0.2.10");
    expect(await ipOf(1, "not-an-ip")).toBe("192.0.2.10");
    expect(await ipOf(1)).toBe("192.0.2.10");
  });
});

describe("ipLimitKey", () => {
  test("IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by its /64", () => {
    expect(ipLimitKey("198.51.100.7")).toBe("198.51.100.7");
    expect(ipLimitKey("::ffff:198.51.100.7")).toBe("198.51.100.7");
    expect(ipLimitKey("2001:db8:abcd:12:1:2:3:4")).toBe("2001:db8:abcd:12::/64");
    expect(ipLimitKey("2001:db8:abcd:0012::9")).toBe("2001:db8:abcd:12::/64");
    expect(ipLimitKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(ipLimitKey("::1")).toBe("0:0:0:0::/64");
    expect(ipLimitKey("unknown")).toBe("unknown");
  });
});
