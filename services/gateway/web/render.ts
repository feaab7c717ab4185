/**
 * Rendering: the page's elements, the live region and error line, and the
 * list of cards kept in step with the state (items in state.ts). Every text
 * from the server goes into the DOM as text, never as HTML.
 */
import { type Item, items, titleOf } from "./state.ts";

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
}

export const ui = {
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

export function announce(message: string): void {
  // Cleared first, so the same words twice are announced twice.
  ui.announcer.textContent = "";
  requestAnimationFrame(() => {
    ui.announcer.textContent = message;
  });
}

export function showError(message: string | null): void {
  ui.error.textContent = message ?? "";
  ui.error.hidden = message === null;
}

export function setSocketState(state: "offline" | "live" | "reconnecting" | "error", detail = ""): void {
  ui.socketState.dataset.state = state;
  ui.socketState.textContent = `live updates: ${state}${detail ? ` (${detail})` : ""}`;
}

/** What a processing card says at each stage its run reports. */
const STAGE_TEXT: Record<string, string> = {
  downloading: "Fetching the photo…",
  removing_background: "Removing the background…",
  analyzing: "Reading brand, model and colorway…",
  storing: "Saving the cut-out…",
};

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

/** What a card's buttons do (the page's actions). */
export interface CardActions {
  remove(key: string): void;
  retry(key: string): void;
  delete(key: string): void;
}

function renderItem(item: Item, actions: CardActions): HTMLLIElement {
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
  const buttons = element("div", { class: "actions" });
  if (item.refused) {
    const remove = element("button", { type: "button", "aria-label": `Remove ${titleOf(item)}` }, "Remove");
    remove.addEventListener("click", () => actions.remove(item.key));
    buttons.append(remove);
  } else if (!item.uploading) {
    if (item.status === "failed") {
      const retry = element("button", { type: "button", class: "retry", "aria-label": `Retry ${titleOf(item)}` }, "Retry");
      retry.disabled = item.retrying === true;
      retry.addEventListener("click", () => actions.retry(item.key));
      buttons.append(retry);
    }
    const remove = element("button", { type: "button", class: "delete", "aria-label": `Delete ${titleOf(item)}` }, "Delete");
    remove.disabled = item.deleting === true;
    remove.addEventListener("click", () => actions.delete(item.key));
    buttons.append(remove);
  }
  if (buttons.childElementCount) li.append(buttons);
  return li;
}

/** The list of cards: every change to an item goes through here, so the state and the DOM stay in step. */
export function createList(actions: CardActions) {
  const elements = new Map<string, HTMLLIElement>();

  /** Puts the item's card in place (newest first), keeping the others' DOM (and focus) untouched. */
  function show(item: Item): void {
    items.set(item.key, item);
    const next = renderItem(item, actions);
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

  function forget(key: string): void {
    elements.get(key)?.remove();
    elements.delete(key);
    items.delete(key);
  }

  return {
    show,
    remove(key: string): void {
      const item = items.get(key);
      if (item?.originalUrl?.startsWith("blob:")) URL.revokeObjectURL(item.originalUrl);
      forget(key);
      ui.empty.hidden = items.size > 0;
      ui.file.focus();
    },
    /** A local upload got its asset id: the card takes it (or merges into the card an early event already made). */
    rekey(localKey: string, assetId: string): void {
      const local = items.get(localKey);
      forget(localKey);
      if (!local) return;
      const existing = items.get(assetId);
      if (existing) {
        show({ ...existing, filename: local.filename ?? existing.filename, originalUrl: existing.originalUrl ?? local.originalUrl });
      } else {
        const { uploading: _uploading, ...rest } = local;
        show({ ...rest, key: assetId, status: "processing" });
      }
    },
    clear(): void {
      for (const item of items.values()) if (item.originalUrl?.startsWith("blob:")) URL.revokeObjectURL(item.originalUrl);
      items.clear();
      elements.clear();
      ui.items.replaceChildren();
    },
  };
}
export type CardList = ReturnType<typeof createList>;
