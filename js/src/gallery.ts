import { createCellView, type CellView } from "./compareCell";
import { gridColumns } from "./compare";
import { createDisplayControls } from "./controls/displayControls";
import { setShared, Subscriptions } from "./controls/subscriptions";
import { controlRow, createElement, errorMessage, setOptions } from "./dom";
import { byteLength, decodePng } from "./photo";
import type { Binary, Choice, GalleryTile, Pixels, WidgetModel } from "./types";

/** Replaceable pieces, for tests without a browser. */
export interface GalleryOptions {
  decodePhoto?: (bytes: Binary) => Promise<Pixels>;
}

const SORT_LABELS: Record<string, string> = {
  index: "data order",
  confidence: "confidence, lowest first",
  "-confidence": "confidence, highest first",
  outside: "map outside the object, least first",
  "-outside": "map outside the object, most first",
  deletion: "deletion AUC, most faithful map first",
  "-deletion": "deletion AUC, least faithful map first",
};

/** "page 2 of 5" text for a 0-based page. */
export function pageText(page: number, pages: number): string {
  const total = Math.max(1, Math.floor(pages) || 1);
  return `page ${Math.min(total, Math.max(0, Math.floor(page) || 0) + 1)} of ${total}`;
}

/** "412 / 1,797" progress text, or "" when nothing runs. */
export function progressText(progress: unknown): string {
  const p = (progress ?? {}) as { done?: number; total?: number };
  if (!p.total) return "";
  return `${Number(p.done ?? 0).toLocaleString("en")} / ${Number(p.total).toLocaleString("en")} images`;
}

/**
 * Build the Gallery inside `host`: title, summary, progress with a Stop button, filter and sort
 * selects, paging, the shared display controls (front-end only), then a grid of tiles, each its
 * own photo with its map over it (the Compare cell view). Filters, sorts and pages are shared
 * traits: the kernel answers with the page's tiles. Clicking a tile sets `selected`.
 */
export function mountGallery(model: WidgetModel, host: HTMLElement, options: GalleryOptions = {}): () => void {
  const decodePhoto = options.decodePhoto ?? decodePng;
  const doc = host.ownerDocument;
  const subs = new Subscriptions();
  const display = createDisplayControls(doc, model, subs, () => paintAll());

  const title = createElement(doc, "div", { className: "xai-compare-title" });
  const summary = createElement(doc, "div", { className: "xai-gallery-summary", attrs: { "aria-live": "polite" } });
  const bar = createElement(doc, "progress", { className: "xai-gallery-bar" });
  const barText = createElement(doc, "span", { className: "xai-gallery-progress-text" });
  const stop = createElement(doc, "button", { className: "xai-gallery-stop", text: "Stop", attrs: { type: "button" } });
  const progress = createElement(doc, "div", { className: "xai-gallery-progress" }, [bar, barText, stop]);
  const error = createElement(doc, "div", { className: "xai-compare-error", attrs: { role: "alert" } });
  const filter = createElement(doc, "select", { className: "xai-gallery-filter" });
  const sort = createElement(doc, "select", { className: "xai-gallery-sort" });
  const method = createElement(doc, "select", { className: "xai-gallery-method", attrs: { "aria-label": "method" } });
  const previous = createElement(doc, "button", { className: "xai-gallery-previous", text: "‹", attrs: { type: "button", "aria-label": "previous page" } });
  const next = createElement(doc, "button", { className: "xai-gallery-next", text: "›", attrs: { type: "button", "aria-label": "next page" } });
  const pageLabel = createElement(doc, "span", { className: "xai-gallery-page" });
  const toolbar = createElement(doc, "div", { className: "xai-display xai-gallery-toolbar" }, [
    controlRow(doc, "Method", method),
    controlRow(doc, "Show", filter),
    controlRow(doc, "Sort", sort),
    createElement(doc, "div", { className: "xai-gallery-pager" }, [previous, pageLabel, next]),
  ]);
  const grid = createElement(doc, "div", { className: "xai-compare-grid xai-gallery-grid" });
  const root = createElement(doc, "div", { className: "xai-compare xai-gallery", attrs: { "data-state": "loading" } }, [
    title,
    summary,
    progress,
    error,
    toolbar,
    display.element,
    grid,
  ]);
  host.append(root);

  const views: CellView[] = [];
  const photos = new Map<number, Pixels>(); // decoded photos of the tiles on the page, by image index
  let token = 0;

  function tiles(): GalleryTile[] {
    const value = model.get("tiles");
    return Array.isArray(value) ? value : [];
  }

  function select(position: number): void {
    const tile = tiles()[position];
    if (tile) setShared(model, "selected", tile.index);
  }

  /** Match the views to the page's tiles, decode new photos (only the latest page's), draw. */
  function renderTiles(): void {
    const all = tiles();
    while (views.length < all.length) {
      const view = createCellView(doc, views.length, select);
      views.push(view);
      grid.append(view.element);
    }
    for (const view of views.splice(all.length)) view.element.remove();
    const wanted = new Set(all.map((tile) => tile.index));
    for (const index of [...photos.keys()]) if (!wanted.has(index)) photos.delete(index);
    const mine = ++token;
    const pending: Array<Promise<void>> = [];
    all.forEach((tile, position) => {
      const view = views[position];
      view.element.dataset.index = String(tile.index);
      view.element.dataset.correct = tile.correct === null || tile.correct === undefined ? "" : String(tile.correct);
      view.element.classList.toggle("xai-wrong", tile.correct === false);
      const known = photos.get(tile.index);
      view.setCell(tile, known ?? null);
      if (known || byteLength(tile.photo) === 0) return;
      pending.push(
        decodePhoto(tile.photo).then(
          (pixels) => {
            if (mine !== token) return;
            photos.set(tile.index, pixels);
            view.setCell(tile, pixels);
            view.paint(pixels, display.current());
          },
          (problem) => {
            if (mine === token) view.setCell({ ...tile, error: `could not decode the photo: ${errorMessage(problem)}` }, null);
          },
        ),
      );
    });
    showSelected();
    paintAll();
    Promise.all(pending).then(() => {
      if (mine === token) root.setAttribute("data-state", "ready");
    });
  }

  function paintAll(): void {
    const options = display.current();
    tiles().forEach((tile, position) => {
      const pixels = photos.get(tile.index);
      if (pixels && views[position]) views[position].paint(pixels, options);
    });
  }

  function showSelected(): void {
    const selected = model.get("selected");
    tiles().forEach((tile, position) => views[position]?.setSelected(tile.index === selected));
  }

  function showHeader(): void {
    title.textContent = String(model.get("title") ?? "");
    summary.textContent = String(model.get("summary") ?? "");
    const message = String(model.get("error") ?? "");
    error.textContent = message;
    error.hidden = message === "";
    const running = Boolean(model.get("running"));
    const p = (model.get("progress") ?? {}) as { done?: number; total?: number };
    progress.hidden = !running;
    bar.max = Math.max(1, Number(p.total ?? 1));
    bar.value = Number(p.done ?? 0);
    barText.textContent = progressText(p);
    root.setAttribute("data-running", String(running));
  }

  function showChoices(): void {
    const filters: Choice[] = Array.isArray(model.get("filters")) ? model.get("filters") : [];
    setOptions(filter, filters.map((c) => [c.value, c.label]), String(model.get("filter") ?? "all"));
    const sorts: string[] = Array.isArray(model.get("sorts")) ? model.get("sorts") : [];
    setOptions(sort, sorts.map((s) => [s, SORT_LABELS[s] ?? s]), String(model.get("sort") ?? "index"));
    const methods = (Array.isArray(model.get("methods")) ? model.get("methods") : []) as Array<{ name: string; label: string }>;
    setOptions(method, methods.map((m) => [m.name, m.label]), String(model.get("method") ?? ""));
  }

  function showPage(): void {
    const page = Number(model.get("page") ?? 0);
    const pages = Number(model.get("pages") ?? 1);
    pageLabel.textContent = pageText(page, pages);
    previous.disabled = page <= 0;
    next.disabled = page >= pages - 1;
  }

  function showColumns(): void {
    grid.style.setProperty("--xai-columns", String(gridColumns(model.get("columns"))));
  }

  subs.dom(filter, "change", () => setShared(model, "filter", filter.value));
  subs.dom(sort, "change", () => setShared(model, "sort", sort.value));
  subs.dom(method, "change", () => setShared(model, "method", method.value));
  subs.dom(previous, "click", () => setShared(model, "page", Math.max(0, Number(model.get("page")) - 1)));
  subs.dom(next, "click", () => setShared(model, "page", Number(model.get("page")) + 1));
  subs.dom(stop, "click", () => setShared(model, "stop", Number(model.get("stop") ?? 0) + 1));
  subs.model(model, "change:tiles", renderTiles);
  subs.model(model, "change:selected", showSelected);
  const listen = (names: string[], handler: () => void) => {
    for (const name of names) subs.model(model, `change:${name}`, handler);
  };
  listen(["filters", "filter", "sorts", "sort", "methods", "method"], showChoices);
  listen(["page", "pages"], showPage);
  listen(["columns"], showColumns);
  listen(["title", "summary", "error", "running", "progress"], showHeader);
  showHeader();
  showChoices();
  showPage();
  showColumns();
  renderTiles();

  return () => {
    token += 1;
    subs.dispose();
    root.remove();
  };
}

/** anywidget entry point. */
export default {
  render({ model, el }: { model: WidgetModel; el: HTMLElement }) {
    return mountGallery(model, el);
  },
};
