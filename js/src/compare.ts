import { createCellView, type CellView } from "./compareCell";
import { createDisplayControls } from "./controls/displayControls";
import { setShared, Subscriptions } from "./controls/subscriptions";
import { createElement, errorMessage } from "./dom";
import { byteLength, decodePng } from "./photo";
import type { Binary, CompareCell, Pixels, WidgetModel } from "./types";

/** Replaceable pieces, for tests without a browser. */
export interface CompareOptions {
  decodePhoto?: (bytes: Binary) => Promise<Pixels>;
}

/** Grid columns from the `columns` trait: a positive integer, else 3. */
export function gridColumns(value: unknown): number {
  const n = Math.floor(Number(value));
  return Number.isFinite(n) && n >= 1 ? n : 3;
}


/**
 * Build the Compare widget inside `host`: title, shared display controls (front-end only,
 * never saved), then a grid with one cell per entry of `cells`. Clicking a cell sets
 * `selected` and saves. Returns the cleanup function.
 */
export function mountCompare(model: WidgetModel, host: HTMLElement, options: CompareOptions = {}): () => void {
  const decodePhoto = options.decodePhoto ?? decodePng;
  const doc = host.ownerDocument;

  const subs = new Subscriptions();
  const display = createDisplayControls(doc, model, subs, () => paintAll());
  const title = createElement(doc, "div", { className: "xai-compare-title" });
  const grid = createElement(doc, "div", { className: "xai-compare-grid" });
  const error = createElement(doc, "div", { className: "xai-compare-error", attrs: { role: "alert" } });
  error.hidden = true;
  const root = createElement(doc, "div", { className: "xai-compare", attrs: { "data-state": "loading" } }, [
    title,
    display.element,
    error,
    grid,
  ]);
  host.append(root);

  let photo: Pixels | null = null;
  let photoToken = 0;
  let photoError = "";
  const views: CellView[] = [];

  function cells(): CompareCell[] {
    const value = model.get("cells");
    return Array.isArray(value) ? value : [];
  }

  function select(index: number): void {
    setShared(model, "selected", index);
  }

  /** Match the cell views to `cells` (views are reused by position), prepare and draw them. */
  function renderCells(): void {
    const all = cells();
    while (views.length < all.length) {
      const view = createCellView(doc, views.length, select);
      views.push(view);
      grid.append(view.element);
    }
    for (const view of views.splice(all.length)) view.element.remove();
    all.forEach((cell, index) => views[index].setCell(cell, photo));
    showSelected();
    paintAll();
  }

  function paintAll(): void {
    if (photo) {
      const options = display.current();
      for (const view of views) view.paint(photo, options);
    }
    updateState();
  }

  function showSelected(): void {
    const selected = model.get("selected");
    views.forEach((view, index) => view.setSelected(index === selected));
  }

  function showTitle(): void {
    title.textContent = String(model.get("title") ?? "");
    title.hidden = title.textContent === "";
  }

  function showColumns(): void {
    grid.style.setProperty("--xai-columns", String(gridColumns(model.get("columns"))));
  }

  function updateState(): void {
    root.setAttribute("data-state", photoError ? "error" : photo ? "ready" : "loading");
    error.textContent = photoError;
    error.hidden = photoError === "";
  }

  /** Decode the current `photo` trait (only the latest decode is used), then draw every cell. */
  function loadPhoto(): void {
    const token = ++photoToken;
    photo = null;
    photoError = "";
    renderCells(); // titles and errors show while the photo decodes
    const bytes = model.get("photo");
    if (byteLength(bytes) === 0) return;
    decodePhoto(bytes).then(
      (pixels) => {
        if (token !== photoToken) return;
        photo = pixels;
        renderCells();
      },
      (problem) => {
        if (token !== photoToken) return;
        photoError = `could not decode the photo: ${errorMessage(problem)}`;
        updateState();
      },
    );
  }

  subs.model(model, "change:cells", renderCells);
  subs.model(model, "change:selected", showSelected);
  subs.model(model, "change:title", showTitle);
  subs.model(model, "change:columns", showColumns);
  subs.model(model, "change:photo", loadPhoto);
  showTitle();
  showColumns();
  loadPhoto();

  return () => {
    photoToken += 1;
    subs.dispose();
    root.remove();
  };
}

/** anywidget entry point. */
export default {
  render({ model, el }: { model: WidgetModel; el: HTMLElement }) {
    return mountCompare(model, el);
  },
};
