/**
 * Debian's Chromium, driven by playwright-core (no browser is ever
 * downloaded): where it is, how it is started, and the failure that names
 * the command installing it.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const INSTALL = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export const hasChromium = () => existsSync(CHROMIUM);

export function requireChromium(): void {
  if (!hasChromium()) {
    throw new Error(`Chromium is not installed at ${CHROMIUM} (set CHROMIUM_PATH to use another). Install Debian's package, as root: ${INSTALL}`);
  }
}

/** A headless Chromium with its own profile folder; `close` also removes the folder. */
export async function launchChromium(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const userDataDir = mkdtempSync(join(tmpdir(), "pipeline-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
