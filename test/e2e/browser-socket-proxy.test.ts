/**
 * The web page as compose serves it: the gateway forwards /socket.io/ to the
 * notifiers (NOTIFIER_URL) and NOTIFIER_PUBLIC_URL is left unset, so the page
 * is told to connect to the gateway itself. In headless Chromium, with one
 * notifier and with three: each tab (one per replica) goes live through the
 * gateway and sees an upload turn active without a reload, and the browser
 * talks to no notifier directly.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { BrowserContext, Page } from "playwright-core";
import { hasChromium, launchChromium, requireChromium } from "../helpers/chromium.ts";
import { productPhoto } from "../helpers/images.ts";
import { metric } from "../helpers/metrics.ts";
import { type ServiceHandle, Stack } from "../helpers/stack.ts";

for (const replicas of [1, 3]) {
  describe(`the page through the gateway, ${replicas} notifier replica${replicas > 1 ? "s" : ""}`, () => {
    let stack: Stack;
    let notifiers: ServiceHandle[];
    let context: BrowserContext;
    let closeBrowser: (() => Promise<void>) | undefined;
    const pages: Page[] = [];
    const socketRequests: string[] = [];

    beforeAll(async () => {
      if (!hasChromium()) return; // the tests then fail with the install command
      stack = await Stack.start({
        services: ["ingest", "ai-worker", ...Array<"notifier">(replicas).fill("notifier")],
        env: { DEV_LOGIN: "true" },
      });
      notifiers = stack.services.filter((service) => service.name === "notifier");
      await stack.add("gateway", { NOTIFIER_URL: notifiers.map((notifier) => notifier.url).join(",") });
      ({ context, close: closeBrowser } = await launchChromium());
      context.on("request", (request) => {
        if (request.url().includes("/socket.io/")) socketRequests.push(request.url());
      });
    }, 120_000);

    afterAll(async () => {
      await closeBrowser?.();
      await stack?.stop();
    });

    test("every tab signs in and goes live through the gateway, the tabs spread over the replicas", async () => {
      requireChromium();
      for (let i = 0; i < replicas; i++) {
        const page = await context.newPage();
        page.on("websocket", (socket) => socketRequests.push(socket.url()));
        pages.push(page);
        await page.goto(`${stack.gatewayUrl}/`);
        if (i === 0) await page.getByRole("button", { name: "Sign in as the demo user" }).click(); // the token is kept for the other tabs
        await page.waitForSelector('#socket-state[data-state="live"]', { timeout: 15_000 });
      }
      const counts = await Promise.all(notifiers.map((notifier) => metric(notifier.url, "socketio_connected_sockets")));
      expect(counts.reduce((sum, count) => sum + count, 0)).toBe(replicas);
      for (const count of counts) expect(count).toBe(1);
      expect(socketRequests.length).toBeGreaterThan(0);
      const gatewayHost = new URL(stack.gatewayUrl).host;
      for (const url of socketRequests) expect(new URL(url).host).toBe(gatewayHost);
    }, 90_000);

    test("an upload in the first tab turns active live in every tab", async () => {
      requireChromium();
      const [first] = pages;
      await first!.getByLabel("Category").selectOption("sneaker");
      const photo = await productPhoto({ format: "png", color: "#1030d0", size: 480 });
      await first!.getByLabel(/^Photos/).setInputFiles({ name: "blue-shoe.png", mimeType: "image/png", buffer: Buffer.from(photo) });
      await first!.waitForSelector('li.item[data-status="active"]', { timeout: 60_000 });
      const assetId = await first!.locator('li.item[data-status="active"]').getAttribute("data-asset-id");
      expect(assetId).toMatch(/^[0-9a-f]{24}$/);
      // The other tabs never uploaded it: they hear of it from their own replica's socket.
      for (const page of pages.slice(1)) await page.waitForSelector(`li.item[data-asset-id="${assetId}"][data-status="active"]`, { timeout: 30_000 });
    }, 120_000);
  });
}
