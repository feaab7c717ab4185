/**
 * The web page's script, bundled by the gateway (src/routes/web.ts) with
 * Bun: sign in (a pasted token, or the demo user when DEV_LOGIN is on),
 * upload photos, and watch each Asset go from processing to active or failed
 * through the notifier's `asset_processed` events (with a catch-up over
 * HTTP on every connect the server did not resume). The token stays in
 * localStorage, so the list survives a reload. Every text from the server
 * goes into the DOM as text, never as HTML.
 */
import {
  ApiError,
  type AssetDeletedEvent,
  type AssetProcessedEvent,
  type AssetProgressEvent,
  type AssetResponse,
  type Category,
  type Client,
  createClient,
  type Subscription,
} from "@pipeline/client";

interface PageConfig {
  notifierUrl: string;
  devLogin: boolean;
}

type Detection = { value: string | null; confidence: number };

/** One card of the list: a server Asset, or an upload not answered yet (key `local-<n>`). */
interface Item {
  key: string;
  status: string;
  category: string;
  createdAt: string;
  filename?: string;
  originalUrl?: string;
  processedUrl?: string;
  brand?: Detection;
  model?: Detection;
  colorway?: Detection;
  /** The confidences are a hosted model's own estimate, not calibrated on the evaluation set. */
  estimated?: boolean;
  error?: string;
  /** Still uploading (no asset id yet). */
  uploading?: boolean;
  /** The upload itself was refused: nothing to retry on the server. */
  refused?: boolean;
  /** A retry request is in flight. */
  retrying?: boolean;
  /** The stage a processing run reported last (`asset_progress`). */
  stage?: string;
  /** A delete request is in flight. */
  deleting?: boolean;
}

/** What a processing card says at each stage its run reports. */
const STAGE_TEXT: Record<string, string> = {
  downloading: "Fetching the photo…",
  removing_background: "Removing the background…",
  analyzing: "Reading brand, model and colorway…",
  storing: "Saving the cut-out…",
};

const TOKEN_KEY = "pipeline.token";
const DEMO_KEY = "pipeline.demo";
const PAGE_SIZE = 20;
const CATEGORY_LABELS: Record<string, string> = { sneaker: "Sneaker", lego: "LEGO set", camera: "Camera", other: "Other" };

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
}

const ui = {
  who: byId<HTMLDivElement>("who"),
  whoText: byId<HTMLSpanElement>("who-text"),
  socketState: byId<HTMLSpanElement>("socket-state"),
  signOut: byId<HTMLButtonElement>("sign-out"),
  announcer: byId<HTMLDivElement>("announcer"),
  error: byId<HTMLParagraphElement>("error"),
  signIn: byId<HTMLElement>("sign-in"),
  tokenForm: byId<HTMLFormElement>("token-form"),
  token: byId<HTMLTextAreaElement>("token"),
  demo: byId<HTMLDivElement>("demo"),
  demoLogin: byId<HTMLButtonElement>("demo-login"),
  workspace: byId<HTMLElement>("workspace"),
  uploadTitle: byId<HTMLHeadingElement>("upload-title"),
  uploadForm: byId<HTMLFormElement>("upload-form"),
  category: byId<HTMLSelectElement>("category"),
  dropZone: byId<HTMLDivElement>("drop-zone"),
  file: byId<HTMLInputElement>("file"),
  items: byId<HTMLUListElement>("items"),
  empty: byId<HTMLParagraphElement>("empty"),
  more: byId<HTMLButtonElement>("more"),
};

let config: PageConfig = { notifierUrl: `${location.protocol}//${location.hostname}:3002`, devLogin: false };
let token: string | null = null;
let demo = false;
let client: Client | null = null;
let subscription: Subscription | null = null;
let pages: AsyncIterator<{ items: AssetResponse[]; nextCursor: string | null }> | null = null;
const items = new Map<string, Item>();
const elements = new Map<string, HTMLLIElement>();
let localCount = 0;

// ---------------------------------------------------------------- messages

function announce(message: string): void {
  // Cleared first, so the same words twice are announced twice.
  ui.announcer.textContent = "";
  requestAnimationFrame(() => {
    ui.announcer.textContent = message;
  });
}

function showError(message: string | null): void {
  ui.error.textContent = message ?? "";
  ui.error.hidden = message === null;
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

// ---------------------------------------------------------------- tokens

/** The claims the page needs, read without verifying (the gateway verifies). */
function claimsOf(jwt: string): { sub: string; exp: number } | null {
  const part = jwt.split(".")[1];
  if (!part) return null;
  try {
    const json = JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));
    return typeof json.sub === "string" && typeof json.exp === "number" ? { sub: json.sub, exp: json.exp } : null;
  } catch {
    return null;
  }
}

const expiresWithin = (jwt: string, seconds: number) => (claimsOf(jwt)?.exp ?? 0) - seconds < Date.now() / 1000;

async function mintDemoToken(): Promise<string> {
  const response = await fetch("/api/dev/token", { method: "POST" });
  if (!response.ok) throw new Error(`the demo login answered ${response.status}${response.status === 404 ? " (DEV_LOGIN is off)" : ""}`);
  const body = (await response.json()) as { token: string };
  return body.token;
}

/** The token for every request and socket (re)connection: a demo token about to expire is renewed. */
async function currentToken(): Promise<string> {
  if (token && demo && expiresWithin(token, 60)) {
    token = await mintDemoToken();
    localStorage.setItem(TOKEN_KEY, token);
  }
  return token ?? "";
}

// ---------------------------------------------------------------- items

function fromAsset(asset: AssetResponse, previous?: Item): Item {
  const item: Item = {
    key: asset.id,
    status: asset.status,
    category: asset.category,
    createdAt: asset.createdAt,
    ...(previous?.filename ? { filename: previous.filename } : {}),
  };
  const originalUrl = asset.images.original?.url ?? previous?.originalUrl;
  if (originalUrl) item.originalUrl = originalUrl;
  if (asset.images.processed?.url) item.processedUrl = asset.images.processed.url;
  const metadata = asset.aiMetadata;
  if (metadata?.brand) item.brand = metadata.brand;
  if (metadata?.model) item.model = metadata.model;
  if (metadata?.colorway) item.colorway = metadata.colorway;
  if (metadata?.source) item.estimated = !metadata.source.calibrated;
  if (asset.status === "failed" && metadata?.error) item.error = metadata.error;
  return item;
}

function titleOf(item: Item): string {
  const category = CATEGORY_LABELS[item.category] ?? item.category;
  return `${category}: ${item.filename ?? new Date(item.createdAt).toLocaleString()}`;
}

const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 0 });

function element<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function figure(url: string | undefined, caption: string, alt: string, placeholder: string): HTMLElement {
  const node = element("figure");
  if (url) {
    node.append(element("img", { src: url, alt, loading: "lazy", decoding: "async" }));
  } else {
    node.append(element("div", { class: "placeholder", "aria-hidden": "true" }, placeholder));
  }
  node.append(element("figcaption", {}, caption));
  return node;
}

function renderItem(item: Item): HTMLLIElement {
  const titleId = `title-${item.key}`;
  const li = element("li", { class: "item", "data-asset-id": item.key, "data-status": item.status, "aria-labelledby": titleId });
  li.tabIndex = -1;
  li.append(element("h3", { id: titleId }, titleOf(item)));

  const statusText = item.uploading ? "processing (uploading…)" : item.retrying ? "processing (retrying…)" : item.status;
  const status = element("p", { class: "status" }, "Status: ");
  status.append(element("strong", { class: `badge badge-${item.status}` }, statusText));
  li.append(status);

  const pending = item.status === "processing" ? (STAGE_TEXT[item.stage ?? ""] ?? "Queued for processing…") : "No cut-out";
  const images = element("div", { class: "images" });
  images.append(
    figure(item.originalUrl, "Original", `Original photo: ${titleOf(item)}`, "No preview"),
    figure(item.processedUrl, "Cut-out", `Cut-out of ${titleOf(item)}, background removed`, pending),
  );
  li.append(images);

  if (item.brand || item.model || item.colorway) {
    const summary = [item.brand?.value, item.model?.value, item.colorway?.value].filter(Boolean).join(" · ");
    li.append(element("p", { class: "summary" }, summary || "Nothing recognised"));
    const list = element("dl", { class: "meta" });
    for (const [label, detection] of [
      ["Brand", item.brand],
      ["Model", item.model],
      ["Colorway", item.colorway],
    ] as const) {
      list.append(element("dt", {}, label));
      const confidence = percent.format(detection?.confidence ?? 0);
      const value = !detection?.value
        ? "not recognised"
        : item.estimated
          ? `${detection.value} (model's estimate: ${confidence})`
          : `${detection.value} (${confidence} confidence)`;
      list.append(element("dd", { "data-field": label.toLowerCase() }, value));
    }
    li.append(list);
  }

  if (item.status === "failed") li.append(element("p", { class: "failure" }, item.error ?? "Processing failed."));
  const actions = element("div", { class: "actions" });
  if (item.refused) {
    const remove = element("button", { type: "button", "aria-label": `Remove ${titleOf(item)}` }, "Remove");
    remove.addEventListener("click", () => removeItem(item.key));
    actions.append(remove);
  } else if (!item.uploading) {
    if (item.status === "failed") {
      const retry = element("button", { type: "button", class: "retry", "aria-label": `Retry ${titleOf(item)}` }, "Retry");
      retry.disabled = item.retrying === true;
      retry.addEventListener("click", () => void retryItem(item.key));
      actions.append(retry);
    }
    const remove = element("button", { type: "button", class: "delete", "aria-label": `Delete ${titleOf(item)}` }, "Delete");
    remove.disabled = item.deleting === true;
    remove.addEventListener("click", () => void deleteItem(item.key));
    actions.append(remove);
  }
  if (actions.childElementCount) li.append(actions);
  return li;
}

/** Puts the item's card in place (newest first), keeping the others' DOM (and focus) untouched. */
function show(item: Item): void {
  items.set(item.key, item);
  const next = renderItem(item);
  const old = elements.get(item.key);
  const hadFocus = old?.contains(document.activeElement) ?? false;
  if (old) {
    old.replaceWith(next);
  } else {
    const after = [...ui.items.children].find((child) => {
      const other = items.get((child as HTMLElement).dataset.assetId ?? "");
      return other !== undefined && other.createdAt < item.createdAt;
    });
    ui.items.insertBefore(next, after ?? null);
  }
  elements.set(item.key, next);
  if (hadFocus) (next.querySelector<HTMLButtonElement>("button:not([disabled])") ?? next).focus();
  ui.empty.hidden = items.size > 0;
}

function removeItem(key: string): void {
  const item = items.get(key);
  if (item?.originalUrl?.startsWith("blob:")) URL.revokeObjectURL(item.originalUrl);
  elements.get(key)?.remove();
  elements.delete(key);
  items.delete(key);
  ui.empty.hidden = items.size > 0;
  ui.file.focus();
}

/** A local upload got its asset id: the card takes it (or merges into the card an early event already made). */
function rekey(localKey: string, assetId: string): void {
  const local = items.get(localKey);
  elements.get(localKey)?.remove();
  elements.delete(localKey);
  items.delete(localKey);
  if (!local) return;
  const existing = items.get(assetId);
  if (existing) {
    show({ ...existing, filename: local.filename ?? existing.filename, originalUrl: existing.originalUrl ?? local.originalUrl });
  } else {
    const { uploading: _uploading, ...rest } = local;
    show({ ...rest, key: assetId, status: "processing" });
  }
}

function describeOutcome(item: Item): string {
  if (item.status === "active") {
    const found = [item.brand?.value, item.model?.value, item.colorway?.value].filter(Boolean).join(", ");
    return `${titleOf(item)} is active${found ? `: ${found}` : ""}.`;
  }
  if (item.status === "failed") return `${titleOf(item)} failed: ${item.error ?? "unknown reason"}.`;
  return `${titleOf(item)} is ${item.status}.`;
}

function applyEvent(event: AssetProcessedEvent): void {
  const item = items.get(event.assetId);
  if (!item) {
    // Not listed yet (its upload's answer is still on the way, or it is older than the pages shown): read it.
    void client
      ?.get(event.assetId)
      .then((asset) => {
        const shown = fromAsset(asset, items.get(asset.id));
        show(shown);
        announce(describeOutcome(shown));
      })
      .catch(() => undefined);
    return;
  }
  const next: Item = { ...item, status: event.status, retrying: false };
  if (event.status === "active") {
    next.processedUrl = event.processedImageUrl;
    next.brand = event.aiMetadata.brand;
    next.model = event.aiMetadata.model;
    next.colorway = event.aiMetadata.colorway;
    delete next.error;
    // The event carries no source: the Asset says whether these confidences are calibrated.
    void client
      ?.get(event.assetId)
      .then((asset) => {
        const current = items.get(asset.id);
        if (current?.status === "active") show(fromAsset(asset, current));
      })
      .catch(() => undefined);
  } else {
    next.error = event.error;
  }
  show(next);
  announce(describeOutcome(next));
}

// ---------------------------------------------------------------- actions

async function uploadFiles(files: Iterable<File>): Promise<void> {
  if (!client) return;
  const category = ui.category.value as Category;
  for (const file of files) {
    const key = `local-${++localCount}`;
    const item: Item = {
      key,
      status: "processing",
      uploading: true,
      category,
      createdAt: new Date().toISOString(),
      filename: file.name,
      originalUrl: URL.createObjectURL(file),
    };
    show(item);
    announce(`${titleOf(item)}: uploading.`);
    client.upload(file, { category, filename: file.name }).then(
      (accepted) => {
        rekey(key, accepted.assetId);
        announce(`${titleOf(item)} is processing.`);
      },
      (error: unknown) => {
        if (isUnauthorized(error)) return signOut(`Signed out: ${describe(error)}`);
        const failed: Item = { ...item, status: "failed", uploading: false, refused: true, error: `Upload refused: ${describe(error)}` };
        show(failed);
        announce(`${titleOf(item)}: upload refused. ${describe(error)}`);
      },
    );
  }
}

async function retryItem(key: string): Promise<void> {
  const item = items.get(key);
  if (!client || !item) return;
  show({ ...item, retrying: true });
  try {
    await client.retry(key);
    const next: Item = { ...item, status: "processing", retrying: false };
    delete next.error;
    delete next.stage;
    show(next);
    announce(`${titleOf(item)}: retrying.`);
  } catch (error) {
    if (isUnauthorized(error)) return signOut(`Signed out: ${describe(error)}`);
    // 409: it is no longer failed; show what it is now.
    const current = await client.get(key).catch(() => null);
    show(current ? fromAsset(current, item) : { ...item, retrying: false });
    announce(`${titleOf(item)}: could not retry. ${describe(error)}`);
  }
}

/** Deletes the Asset and its images on the server; the card goes once the server said so (the socket's asset_deleted may come first). */
async function deleteItem(key: string): Promise<void> {
  const item = items.get(key);
  if (!client || !item) return;
  show({ ...item, deleting: true });
  try {
    await client.delete(key);
    if (items.has(key)) removeItem(key);
    announce(`${titleOf(item)} deleted.`);
  } catch (error) {
    if (isUnauthorized(error)) return signOut(`Signed out: ${describe(error)}`);
    const current = items.get(key);
    if (current) show({ ...current, deleting: false });
    announce(`${titleOf(item)}: could not delete. ${describe(error)}`);
  }
}

function applyProgress(event: AssetProgressEvent): void {
  const item = items.get(event.assetId);
  if (item?.status === "processing") show({ ...item, stage: event.stage });
}

function applyDeleted(event: AssetDeletedEvent): void {
  const item = items.get(event.assetId);
  if (!item) return;
  removeItem(event.assetId);
  announce(`${titleOf(item)} was deleted.`);
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
    for (const asset of result.value.items) show(fromAsset(asset, items.get(asset.id)));
    ui.more.hidden = result.value.nextCursor === null;
    ui.empty.hidden = items.size > 0;
  } finally {
    ui.more.disabled = false;
    ui.items.removeAttribute("aria-busy");
  }
}

const isUnauthorized = (error: unknown) => error instanceof ApiError && error.status === 401;

function setSocketState(state: "offline" | "live" | "reconnecting" | "error", detail = ""): void {
  ui.socketState.dataset.state = state;
  ui.socketState.textContent = `live updates: ${state}${detail ? ` (${detail})` : ""}`;
}

async function signIn(newToken: string, isDemo: boolean): Promise<void> {
  const claims = claimsOf(newToken);
  if (!claims) {
    showError("That is not a token: expected a JWT (three dot-separated parts) with sub and exp.");
    ui.token.focus();
    return;
  }
  token = newToken;
  demo = isDemo;
  const since = new Date(Date.now() - 60_000).toISOString();
  client = createClient({ baseUrl: location.origin, token: currentToken, notifierUrl: config.notifierUrl });
  pages = client.list({ limit: PAGE_SIZE });
  try {
    const first = await pages.next();
    for (const asset of first.done ? [] : first.value.items) show(fromAsset(asset));
    ui.more.hidden = first.done || first.value.nextCursor === null;
  } catch (error) {
    const reason = isUnauthorized(error) ? `The gateway refused this token: ${describe(error)}` : `Could not load your items: ${describe(error)}`;
    return signOut(reason);
  }
  localStorage.setItem(TOKEN_KEY, token ?? newToken); // a demo token may have been renewed meanwhile
  if (isDemo) localStorage.setItem(DEMO_KEY, "1");
  else localStorage.removeItem(DEMO_KEY);
  showError(null);
  ui.whoText.textContent = `Signed in as ${isDemo ? "the demo user" : "user"} ${claims.sub}`;
  ui.who.hidden = false;
  ui.signIn.hidden = true;
  ui.workspace.hidden = false;
  ui.empty.hidden = items.size > 0;
  ui.uploadTitle.tabIndex = -1;
  ui.uploadTitle.focus();

  setSocketState("offline");
  subscription = client.subscribe(
    {
      asset_processed: applyEvent,
      asset_progress: applyProgress,
      asset_deleted: applyDeleted,
      session: () => setSocketState("live"),
      session_expired: () => {
        if (!demo) signOut("Your token expired: paste a new one to go on.");
      },
      onCatchUp: (assets) => {
        for (const asset of assets) {
          const shown = fromAsset(asset, items.get(asset.id));
          show(shown);
          announce(describeOutcome(shown));
        }
      },
      onConnect: () => setSocketState("live"),
      onDisconnect: () => setSocketState("reconnecting"),
      onError: (error) => setSocketState("error", describe(error)),
    },
    { since },
  );
  announce(`Signed in. ${items.size} item${items.size === 1 ? "" : "s"}.`);
}

function signOut(reason?: string): void {
  subscription?.close();
  subscription = null;
  client = null;
  pages = null;
  token = null;
  demo = false;
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(DEMO_KEY);
  for (const key of [...items.keys()]) {
    const item = items.get(key);
    if (item?.originalUrl?.startsWith("blob:")) URL.revokeObjectURL(item.originalUrl);
  }
  items.clear();
  elements.clear();
  ui.items.replaceChildren();
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
  const saved = localStorage.getItem(TOKEN_KEY);
  const savedDemo = localStorage.getItem(DEMO_KEY) === "1";
  if (saved && (!expiresWithin(saved, 0) || (savedDemo && config.devLogin))) {
    await signIn(saved, savedDemo);
  } else {
    if (saved) showError("Your saved token has expired: paste a new one.");
    localStorage.removeItem(TOKEN_KEY);
    ui.signIn.hidden = false;
  }
}

void start();
