import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { sendAttempt } from "./send.ts";
import { newSecret } from "./signing.ts";
import { checkTarget, type Resolver, refusedRange, UnresolvableTargetError, UnsafeTargetError } from "./ssrf.ts";

// A TCP listener on loopback that counts connections: every refused target below points at it
// (directly or by name), and it must never see one.
let listener: TCPSocketListener<undefined>;
let connections = 0;
beforeAll(() => {
  listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open: (socket) => {
        connections++;
        socket.end();
      },
      data: () => undefined,
    },
  });
});
afterAll(() => listener.stop(true));

const answers =
  (...addresses: string[]): Resolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
const strict = { allowPrivate: false };

async function expectRefusedWithoutConnecting(url: string, resolve?: Resolver) {
  const before = connections;
  const policy = resolve ? { ...strict, resolve } : strict;
  await expect(checkTarget(url, policy)).rejects.toBeInstanceOf(UnsafeTargetError);
  // The whole attempt, not just the check, stops before connecting.
  const attempt = await sendAttempt({ url, deliveryId: "msg_test", body: "{}", secret: newSecret() }, { policy, timeoutMs: 2000 });
  expect(attempt).toMatchObject({ ok: false, statusCode: null });
  expect(attempt.error).toStartWith("not sent: ");
  await Bun.sleep(20);
  expect(connections).toBe(before);
}

describe("checkTarget refuses non-public targets before any connection", () => {
  test("(control) the listener does count a connection when the guard lets one through", async () => {
    const before = connections;
    await sendAttempt(
      { url: `http://127.0.0.1:${listener.port}/`, deliveryId: "msg_test", body: "{}", secret: newSecret() },
      { policy: { allowPrivate: true }, timeoutMs: 2000 },
    );
    expect(connections).toBe(before + 1);
  });

  test.each([
    ["loopback", "127.0.0.1"],
    ["private", "10.0.0.1"],
    ["metadata (link-local)", "169.254.169.254"],
    ["IPv6 loopback", "[::1]"],
    ["IPv4-mapped private", "[::ffff:10.0.0.1]"],
    ["IPv4-mapped loopback", "[::ffff:127.0.0.1]"],
    ["AWS IPv6 metadata (unique-local)", "[fd00:ec2::254]"],
    ["CGNAT", "100.64.0.1"],
    ["unspecified", "0.0.0.0"],
    ["multicast", "224.0.0.1"],
    ["IPv6 link-local", "[fe80::1]"],
  ])("%s %s", async (_, host) => {
    await expectRefusedWithoutConnecting(`https://${host}:${listener.port}/hook`);
  });

  test("https://localhost (a real name resolving to loopback)", async () => {
    await expectRefusedWithoutConnecting(`https://localhost:${listener.port}/hook`);
  });

  test("a name whose resolver answers 10.0.0.1", async () => {
    await expectRefusedWithoutConnecting(`https://hooks.example.test:${listener.port}/`, answers("10.0.0.1"));
  });

  test("a name with one public and one loopback address (every address is checked)", async () => {
    await expectRefusedWithoutConnecting(`https://mixed.example.test:${listener.port}/`, answers("93.184.216.34", "127.0.0.1"));
  });

  test("a name resolving to an IPv4-mapped private address", async () => {
    await expectRefusedWithoutConnecting(`https://mapped.example.test:${listener.port}/`, answers("::ffff:192.168.1.10"));
  });

  test("http:// is refused without allowPrivate, before resolving", async () => {
    let resolved = false;
    const resolve: Resolver = async () => {
      resolved = true;
      return [{ address: "93.184.216.34", family: 4 }];
    };
    const refusal = checkTarget("http://example.com/hook", { ...strict, resolve });
    await expect(refusal).rejects.toBeInstanceOf(UnsafeTargetError);
    await expect(refusal).rejects.toThrow("must use https");
    expect(resolved).toBe(false);
    await expectRefusedWithoutConnecting(`http://127.0.0.1:${listener.port}/hook`);
  });

  test("the refusal names the host, the address and its range", async () => {
    await expect(checkTarget("https://hooks.example.test/", { ...strict, resolve: answers("10.0.0.1") })).rejects.toThrow(
      "hooks.example.test resolves to 10.0.0.1, a private address",
    );
    await expect(checkTarget("https://169.254.169.254/latest/meta-data", strict)).rejects.toThrow("169.254.169.254 is a link-local address");
  });

  test("other schemes are refused even with allowPrivate", async () => {
    await expect(checkTarget("ftp://example.com/", { allowPrivate: true })).rejects.toBeInstanceOf(UnsafeTargetError);
  });
});

describe("checkTarget accepts public targets", () => {
  test("a public IPv4 literal", async () => {
    expect((await checkTarget("https://93.184.216.34/hook", strict)).hostname).toBe("93.184.216.34");
  });

  test("a name resolving to public IPv4 and IPv6 addresses", async () => {
    const url = await checkTarget("https://hooks.example.com/in", { ...strict, resolve: answers("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946") });
    expect(url.href).toBe("https://hooks.example.com/in");
  });

  test("allowPrivate lifts the address and the HTTPS rules (development)", async () => {
    expect((await checkTarget(`http://127.0.0.1:${listener.port}/`, { allowPrivate: true })).protocol).toBe("http:");
  });

  test("a name that does not resolve is reported as such, not as refused", async () => {
    const failing: Resolver = async () => {
      throw new Error("ENOTFOUND");
    };
    await expect(checkTarget("https://nowhere.example.test/", { ...strict, resolve: failing })).rejects.toBeInstanceOf(UnresolvableTargetError);
    await expect(checkTarget("https://nowhere.example.test/", { ...strict, resolve: answers() })).rejects.toBeInstanceOf(UnresolvableTargetError);
  });
});

describe("refusedRange", () => {
  test.each([
    ["8.8.8.8", null],
    ["2001:4860:4860::8888", null],
    ["172.16.5.4", "private"],
    ["192.168.0.1", "private"],
    ["::", "unspecified"],
    ["ff02::1", "multicast"],
    ["::a00:1", "special-purpose (not global unicast)"],
    ["64:ff9b::a00:1", "special-purpose (rfc6052)"],
    ["2002:a00:1::", "special-purpose (6to4)"],
  ])("%s -> %p", (address, expected) => {
    expect(refusedRange(address)).toBe(expected);
  });
});
