/**
 * The gateway's web page in a real headless Chromium (Debian's `chromium`,
 * driven by playwright-core; no browser is ever downloaded), over a real
 * stack started with DEV_LOGIN=true: sign in with the demo button, upload a
 * generated photo through the file input, watch it turn active live with its
 * brand/colorway line, reload and find it still listed. A screenshot is saved
 * under test-artifacts/ (its path is printed). Without Chromium the test
 * fails and names the command that installs it.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { AI_QUEUE } from "@pipeline/messaging";
import { DEMO_USER_ID } from "@pipeline/runtime/auth";
import type { BrowserContext, Page } from "playwright-core";
import { ROOT } from "../../scripts/lib/processes.ts";
import { upload } from "../helpers/api.ts";
import { hasChromium, launchChromium, requireChromium } from "../helpers/chromium.ts";
import { productPhoto } from "../helpers/images.ts";
import { waitForStatus } from "../helpers/outcomes.ts";
import { Stack } from "../helpers/stack.ts";
import { newUserId, tokenFor } from "../helpers/tokens.ts";

const SCREENSHOT = join(ROOT, "test-artifacts", "browser.png");
const DASHBOARD_SCREENSHOT = join(ROOT, "test-artifacts", "admin-queues.png");

let stack: Stack;
let context: BrowserContext;
let page: Page;
let closeBrowser: (() => Promise<void>) | undefined;
let assetId = "";
const pageErrors: string[] = [];
const requested: string[] = [];

beforeAll(async () => {
  if (!hasChromium()) return; // each test then fails with the install command
  stack = await Stack.start({ services: ["ingest", "ai-worker", "notifier"], env: { DEV_LOGIN: "true", CORS_ORIGIN: "*" } });
  await stack.add("gateway", { NOTIFIER_PUBLIC_URL: stack.get("notifier").url });
  ({ context, close: closeBrowser } = await launchChromium());
  context.on("request", (request) => requested.push(request.url()));
  page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (error) => pageErrors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") pageErrors.push(`console: ${message.text()}`);
  });
}, 120_000);

afterAll(async () => {
  await closeBrowser?.();
  await stack?.stop();
});

describe("the web page in Chromium", () => {
  test("opens at / with its bundled script, and signs in as the demo user", async () => {
    requireChromium();
    const response = await page.goto(`${stack.gatewayUrl}/`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");
    await page.getByRole("button", { name: "Sign in as the demo user" }).click();
    await page.getByRole("heading", { name: "Add items" }).waitFor({ timeout: 10_000 });
    await page.waitForSelector("#who-text:has-text('the demo user')");
    expect(await page.textContent("#who-text")).toContain(DEMO_USER_ID);
    // The socket to the notifier is up (the URL the gateway gave the page).
    await page.waitForSelector('#socket-state[data-state="live"]', { timeout: 15_000 });
    expect(await page.evaluate(() => localStorage.getItem("pipeline.token"))).toMatch(/^ey/);
  }, 60_000);

  test("an upload shows at once as processing, then turns active live with its brand/colorway line", async () => {
    requireChromium();
    await page.getByLabel("Category").selectOption("sneaker");
    const photo = await productPhoto({ format: "png", color: "#d01010", size: 480 });
    await page.getByLabel(/^Photos/).setInputFiles({ name: "red-shoe.png", mimeType: "image/png", buffer: Buffer.from(photo) });

    const card = page.locator("li.item", { has: page.getByRole("heading", { name: /red-shoe\.png/ }) });
    await card.waitFor({ timeout: 5_000 });
    expect(await card.getAttribute("data-status")).toBe("processing");

    await page.waitForSelector('li.item[data-status="active"]', { timeout: 60_000 });
    assetId = (await card.getAttribute("data-asset-id")) ?? "";
    expect(assetId).toMatch(/^[0-9a-f]{24}$/);
    expect(await card.getAttribute("data-status")).toBe("active");
    expect(await card.locator(".status").textContent()).toContain("active");
    // The brand/colorway line, and each detection with its confidence.
    expect((await card.locator(".summary").textContent())?.trim()).not.toBe("");
    expect(await card.locator('dd[data-field="colorway"]').textContent()).toMatch(/Red.*\(\d+\s?% confidence\)/);
    expect(await card.locator('dd[data-field="brand"]').textContent()).toBeTruthy();
    // The original beside the cut-out, both loaded.
    await card.getByRole("img", { name: /^Cut-out of/ }).waitFor();
    const loaded = await card
      .locator("img")
      .evaluateAll((images) => images.map((image) => (image as HTMLImageElement).complete && (image as HTMLImageElement).naturalWidth > 0));
    expect(loaded).toEqual([true, true]);
    // Screen readers heard it.
    await page.waitForFunction(() => document.getElementById("announcer")?.textContent?.includes("is active"));
  }, 90_000);

  test("an image that cannot be processed turns failed with its reason, and Retry (by keyboard) queues it again", async () => {
    requireChromium();
    const photo = await productPhoto({ format: "png", size: 480 });
    // A PNG's signature and a cut-off body: ingest accepts it by its bytes, the ai-worker cannot decode it.
    await page.getByLabel(/^Photos/).setInputFiles({ name: "broken.png", mimeType: "image/png", buffer: Buffer.from(photo.slice(0, 64)) });
    const card = page.locator("li.item", { has: page.getByRole("heading", { name: /broken\.png/ }) });
    await page.waitForSelector('li.item[data-status="failed"]', { timeout: 60_000 });
    expect((await card.locator(".failure").textContent())?.trim()).not.toBe("");
    const retry = card.getByRole("button", { name: /^Retry/ });
    await retry.focus();
    const retried = page.waitForResponse((response) => response.url().endsWith("/retry") && response.request().method() === "POST");
    await page.keyboard.press("Enter");
    expect((await retried).status()).toBe(202);
    await page.waitForFunction(() => document.getElementById("announcer")?.textContent?.match(/broken\.png failed/), undefined, { timeout: 60_000 });
    expect(await card.getAttribute("data-status")).toBe("failed");
  }, 120_000);

  test("the list survives a reload (token in localStorage, list from GET /api/assets)", async () => {
    requireChromium();
    await page.reload();
    const card = page.locator(`li.item[data-asset-id="${assetId}"]`);
    await card.waitFor({ timeout: 10_000 });
    expect(await card.getAttribute("data-status")).toBe("active");
    expect(await card.locator('dd[data-field="colorway"]').textContent()).toMatch(/Red/);
    expect(await page.getByRole("button", { name: "Sign out" }).isVisible()).toBe(true);

    mkdirSync(join(ROOT, "test-artifacts"), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`browser test screenshot: ${SCREENSHOT}`);
  }, 30_000);

  test("the page talked to loopback only, and logged no error", () => {
    requireChromium();
    const foreign = requested.filter((url) => !/^(data:|blob:|https?:\/\/127\.0\.0\.1:\d+\/|wss?:\/\/127\.0\.0\.1:\d+\/)/.test(url));
    expect(foreign).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  test("POST /api/dev/token: a 1 h token for the demo user, and 404 on a gateway without DEV_LOGIN", async () => {
    requireChromium();
    const minted = await fetch(`${stack.gatewayUrl}/api/dev/token`, { method: "POST" });
    expect(minted.status).toBe(200);
    const body = (await minted.json()) as { token: string; userId: string; expiresAt: string };
    expect(body.userId).toBe(DEMO_USER_ID);
    const lifetime = Date.parse(body.expiresAt) - Date.now();
    expect(lifetime).toBeGreaterThan(0);
    expect(lifetime).toBeLessThanOrEqual(3600_000);
    const list = await fetch(`${stack.gatewayUrl}/api/assets`, { headers: { authorization: `Bearer ${body.token}` } });
    expect(list.status).toBe(200);

    const plain = await stack.add("gateway", { DEV_LOGIN: "false" });
    expect((await fetch(`${plain.url}/api/dev/token`, { method: "POST" })).status).toBe(404);
    expect(await (await fetch(`${plain.url}/config.json`)).json()).toMatchObject({ devLogin: false });
  }, 30_000);
});

describe("the queue dashboard in Chromium", () => {
  test("an admin's session cookie opens /admin/queues: the board lists every queue, read-only, all from the gateway", async () => {
    requireChromium();
    // A failed job for the board to show: an upload whose bytes cannot be decoded.
    const owner = await tokenFor(newUserId());
    const broken = (await productPhoto({ format: "png", size: 240 })).slice(0, 64);
    const accepted = await upload(stack.gatewayUrl, owner, { image: broken, category: "other" });
    expect(accepted.status).toBe(202);
    const { assetId: failedAssetId, jobId: failedJobId } = (await accepted.json()) as { assetId: string; jobId: string };
    await waitForStatus(stack.gatewayUrl, owner, failedAssetId, "failed");

    const dashboard = await context.newPage();
    const errors: string[] = [];
    const seen: string[] = [];
    dashboard.on("request", (request) => seen.push(request.url()));
    dashboard.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
    dashboard.on("console", (message) => {
      if (message.type() === "error") errors.push(`console: ${message.text()} (${message.location().url})`);
    });
    // Without the cookie: 401.
    expect((await context.request.get(`${stack.gatewayUrl}/admin/queues`)).status()).toBe(401);
    // The context's request API shares the browser's cookie jar: the admin's bearer buys the session cookie.
    const admin = await tokenFor(newUserId(), { role: "admin" });
    const session = await context.request.post(`${stack.gatewayUrl}/api/admin/session`, { headers: { authorization: `Bearer ${admin}` } });
    expect(session.status()).toBe(200);
    const [cookie] = (await context.cookies(`${stack.gatewayUrl}/admin/queues`)).filter((c) => c.name === "admin_session");
    expect(cookie).toMatchObject({ path: "/admin", httpOnly: true, sameSite: "Strict" });

    const response = await dashboard.goto(`${stack.gatewayUrl}/admin/queues`);
    expect(response?.status()).toBe(200);
    for (const name of ["ai-processing", "asset-outcomes", "webhook-deliveries"]) {
      await dashboard.getByText(name, { exact: true }).first().waitFor({ timeout: 15_000 });
    }
    await dashboard.waitForLoadState("networkidle");
    mkdirSync(join(ROOT, "test-artifacts"), { recursive: true });
    await dashboard.screenshot({ path: DASHBOARD_SCREENSHOT, fullPage: true });
    console.log(`queue dashboard screenshot: ${DASHBOARD_SCREENSHOT}`);

    // Read-only: the failed job is listed without the Retry all and Clean all buttons (and job actions) a writable board shows.
    await dashboard.goto(`${stack.gatewayUrl}/admin/queues/queue/${AI_QUEUE}?status=failed`);
    await dashboard.getByText(failedJobId).first().waitFor({ timeout: 15_000 });
    expect(await dashboard.getByRole("button", { name: /retry|clean|remove|promote|pause|empty|add job/i }).count()).toBe(0);

    const foreign = seen.filter((url) => !/^(data:|blob:|https?:\/\/127\.0\.0\.1:\d+\/)/.test(url));
    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);
    await dashboard.close();
  }, 60_000);
});
