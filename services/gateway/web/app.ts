/**
 * The web page's script, bundled by the gateway (src/routes/web.ts) with
 * Bun: sign in (a pasted token, or the demo user when DEV_LOGIN is on),
 * upload photos, and watch each Asset go from processing to active or failed
 * live. This file holds the page's actions and wires them to the DOM; the
 * state is state.ts, the DOM render.ts, the token session.ts, the live
 * updates socket.ts.
 */
import { ApiError, type AssetResponse, type Category, type Client, createClient, type Subscription } from "@pipeline/client";
import { announce, createList, showError, ui } from "./render.ts";
import { claimsOf, clearSession, currentToken, expiresWithin, mintDemoToken, savedSession, saveSession, session } from "./session.ts";
import { followEvents } from "./socket.ts";
import { describe, fromAsset, type Item, items, nextLocalKey, titleOf } from "./state.ts";

interface PageConfig {
  notifierUrl: string;
  devLogin: boolean;
}

const PAGE_SIZE = 20;

let config: PageConfig = { notifierUrl: `${location.protocol}//${location.hostname}:3002`, devLogin: false };
let client: Client | null = null;
let subscription: Subscription | null = null;
let pages: AsyncIterator<{ items: AssetResponse[]; nextCursor: string | null }> | null = null;

const list = createList({ remove: (key) => list.remove(key), retry: (key) => void retryItem(key), delete: (key) => void deleteItem(key) });
const isUnauthorized = (error: unknown) => error instanceof ApiError && error.status === 401;

// ---------------------------------------------------------------- actions

async function uploadFiles(files: Iterable<File>): Promise<void> {
  if (!client) return;
  const category = ui.category.value as Category;
  for (const file of files) {
    const key = nextLocalKey();
    const item: Item = {
      key,
      status: "processing",
      uploading: true,
      category,
      createdAt: new Date().toISOString(),
      filename: file.name,
      originalUrl: URL.createObjectURL(file),
    };
    list.show(item);
    announce(`${titleOf(item)}: uploading.`);
    client.upload(file, { category, filename: file.name }).then(
      (accepted) => {
        list.rekey(key, accepted.assetId);
        announce(`${titleOf(item)} is processing.`);
      },
      (error: unknown) => {
        if (isUnauthorized(error)) return signOut(`Signed out: ${describe(error)}`);
        const failed: Item = { ...item, status: "failed", uploading: false, refused: true, error: `Upload refused: ${describe(error)}` };
        list.show(failed);
        announce(`${titleOf(item)}: upload refused. ${describe(error)}`);
      },
    );
  }
}

async function retryItem(key: string): Promise<void> {
  const item = items.get(key);
  if (!client || !item) return;
  list.show({ ...item, retrying: true });
  try {
    await client.retry(key);
    const next: Item = { ...item, status: "processing", retrying: false };
    delete next.error;
    delete next.stage;
    list.show(next);
    announce(`${titleOf(item)}: retrying.`);
  } catch (error) {
    if (isUnauthorized(error)) return signOut(`Signed out: ${describe(error)}`);
    // 409: it is no longer failed; show what it is now.
    const current = await client.get(key).catch(() => null);
    list.show(current ? fromAsset(current, item) : { ...item, retrying: false });
    announce(`${titleOf(item)}: could not retry. ${describe(error)}`);
  }
}

/** Deletes the Asset and its images on the server; the card goes once the server said so (the socket's asset_deleted may come first). */
async function deleteItem(key: string): Promise<void> {
  const item = items.get(key);
  if (!client || !item) return;
  list.show({ ...item, deleting: true });
  try {
    await client.delete(key);
    if (items.has(key)) list.remove(key);
    announce(`${titleOf(item)} deleted.`);
  } catch (error) {
    if (isUnauthorized(error)) return signOut(`Signed out: ${describe(error)}`);
    const current = items.get(key);
    if (current) list.show({ ...current, deleting: false });
    announce(`${titleOf(item)}: could not delete. ${describe(error)}`);
  }
}

async function loadMore(): Promise<void> {
  if (!pages) return;
  ui.more.disabled = true;
  ui.items.setAttribute("aria-busy", "true");
  try {
    const result = await pages.next();
    if (result.done) {
      ui.more.hidden = true;
      return;
    }
    for (const asset of result.value.items) list.show(fromAsset(asset, items.get(asset.id)));
    ui.more.hidden = result.value.nextCursor === null;
    ui.empty.hidden = items.size > 0;
  } finally {
    ui.more.disabled = false;
    ui.items.removeAttribute("aria-busy");
  }
}

// ---------------------------------------------------------------- signing in and out

async function signIn(newToken: string, isDemo: boolean): Promise<void> {
  const claims = claimsOf(newToken);
  if (!claims) {
    showError("That is not a token: expected a JWT (three dot-separated parts) with sub and exp.");
    ui.token.focus();
    return;
  }
  session.token = newToken;
  session.demo = isDemo;
  const since = new Date(Date.now() - 60_000).toISOString();
  const signedIn = createClient({ baseUrl: location.origin, token: currentToken, notifierUrl: config.notifierUrl });
  client = signedIn;
  pages = signedIn.list({ limit: PAGE_SIZE });
  try {
    const first = await pages.next();
    for (const asset of first.done ? [] : first.value.items) list.show(fromAsset(asset));
    ui.more.hidden = first.done || first.value.nextCursor === null;
  } catch (error) {
    const reason = isUnauthorized(error) ? `The gateway refused this token: ${describe(error)}` : `Could not load your items: ${describe(error)}`;
    return signOut(reason);
  }
  saveSession(); // a demo token may have been renewed meanwhile
  showError(null);
  ui.whoText.textContent = `Signed in as ${isDemo ? "the demo user" : "user"} ${claims.sub}`;
  ui.who.hidden = false;
  ui.signIn.hidden = true;
  ui.workspace.hidden = false;
  ui.empty.hidden = items.size > 0;
  ui.uploadTitle.tabIndex = -1;
  ui.uploadTitle.focus();

  subscription = followEvents({
    client: signedIn,
    list,
    since,
    onSessionExpired: () => {
      if (!session.demo) signOut("Your token expired: paste a new one to go on.");
    },
  });
  announce(`Signed in. ${items.size} item${items.size === 1 ? "" : "s"}.`);
}

function signOut(reason?: string): void {
  subscription?.close();
  subscription = null;
  client = null;
  pages = null;
  clearSession();
  list.clear();
  ui.who.hidden = true;
  ui.workspace.hidden = true;
  ui.signIn.hidden = false;
  ui.demo.hidden = !config.devLogin;
  showError(reason ?? null);
  announce(reason ?? "Signed out.");
  ui.token.focus();
}

// ---------------------------------------------------------------- wiring

ui.tokenForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const pasted = ui.token.value.trim().replace(/^Bearer\s+/i, "");
  ui.token.value = "";
  void signIn(pasted, false);
});

ui.demoLogin.addEventListener("click", async () => {
  ui.demoLogin.disabled = true;
  try {
    await signIn(await mintDemoToken(), true);
  } catch (error) {
    showError(`Could not sign in as the demo user: ${describe(error)}`);
  } finally {
    ui.demoLogin.disabled = false;
  }
});

ui.signOut.addEventListener("click", () => signOut());
ui.more.addEventListener("click", () => void loadMore());
ui.uploadForm.addEventListener("submit", (event) => event.preventDefault());
ui.file.addEventListener("change", () => {
  const files = [...(ui.file.files ?? [])];
  ui.file.value = ""; // the same file can be picked again
  void uploadFiles(files);
});

// Dropping files anywhere must not open them in the tab; the drop zone takes them.
for (const name of ["dragover", "drop"] as const) document.addEventListener(name, (event) => event.preventDefault());
ui.dropZone.addEventListener("dragenter", () => ui.dropZone.classList.add("over"));
ui.dropZone.addEventListener("dragleave", (event) => {
  if (!ui.dropZone.contains(event.relatedTarget as Node | null)) ui.dropZone.classList.remove("over");
});
ui.dropZone.addEventListener("drop", (event) => {
  ui.dropZone.classList.remove("over");
  const files = [...(event.dataTransfer?.files ?? [])];
  if (files.length) void uploadFiles(files);
});

async function start(): Promise<void> {
  try {
    const response = await fetch("/config.json");
    if (response.ok) config = { ...config, ...((await response.json()) as Partial<PageConfig>) };
  } catch {
    // keep the derived defaults: the notifier on this host's port 3002, no demo login
  }
  ui.demo.hidden = !config.devLogin;
  const saved = savedSession();
  if (saved && (!expiresWithin(saved.token, 0) || (saved.demo && config.devLogin))) {
    await signIn(saved.token, saved.demo);
  } else {
    if (saved) showError("Your saved token has expired: paste a new one.");
    clearSession();
    ui.signIn.hidden = false;
  }
}

void start();
