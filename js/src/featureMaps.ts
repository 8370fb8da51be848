import { colormapTable, isKnownColormap, isDiverging, DEFAULT_SEQUENTIAL } from "./colormap";
import { createCellView } from "./compareCell";
import { createDisplayControls } from "./controls/displayControls";
import { createLayerControl } from "./controls/layerControl";
import { setShared, Subscriptions } from "./controls/subscriptions";
import { copyBytes } from "./decode";
import { controlRow, createElement, errorMessage, setOptions } from "./dom";
import { paintCanvas } from "./paint";
import { byteLength, decodePng } from "./photo";
import { channelAt, channelMap, drawAtlasPage, pageLayout, type PageLayout } from "./atlas";
import type { Binary, Pixels, WidgetModel } from "./types";

export { channelAt, channelMap, drawAtlasPage, pageLayout, type PageLayout };

/** Replaceable pieces, for tests without a browser. */
export interface FeatureMapsOptions {
  decodePhoto?: (bytes: Binary) => Promise<Pixels>;
}

const SORT_LABELS: Record<string, string> = {
  index: "layer order",
  activation: "mean activation",
  contribution: "contribution to the class",
};

/**
 * Build the FeatureMaps widget: title, layer / class / sort controls, display controls, a
 * pager, one canvas with a page of channels, and a focus cell that shows the clicked channel
 * upsampled over the photo. Paging and the focus are front-end only; layer, class and sort
 * are shared (the kernel answers with a new atlas, order or stats).
 */
export function mountFeatureMaps(model: WidgetModel, host: HTMLElement, options: FeatureMapsOptions = {}): () => void {
  const decodePhoto = options.decodePhoto ?? decodePng;
  const doc = host.ownerDocument;
  const subs = new Subscriptions();
  const display = createDisplayControls(doc, model, subs, () => {
    drawPage();
    paintFocus();
  });
  const title = createElement(doc, "div", { className: "xai-compare-title" });
  const notes = createElement(doc, "div", { className: "xai-fm-notes" });
  const error = createElement(doc, "div", { className: "xai-compare-error", attrs: { role: "alert" } });
  const classSelect = createElement(doc, "select", { className: "xai-fm-class", attrs: { "aria-label": "class" } });
  const sortSelect = createElement(doc, "select", { className: "xai-fm-sort", attrs: { "aria-label": "sort" } });
  const previous = createElement(doc, "button", { className: "xai-fm-previous", text: "‹", attrs: { type: "button", "aria-label": "previous page" } });
  const next = createElement(doc, "button", { className: "xai-fm-next", text: "›", attrs: { type: "button", "aria-label": "next page" } });
  const pageLabel = createElement(doc, "span", { className: "xai-fm-page" });
  const toolbar = createElement(doc, "div", { className: "xai-display xai-fm-toolbar" }, [
    createLayerControl(doc, model, subs),
    controlRow(doc, "Class", classSelect),
    controlRow(doc, "Sort", sortSelect),
    createElement(doc, "div", { className: "xai-gallery-pager" }, [previous, pageLabel, next]),
  ]);
  const canvas = createElement(doc, "canvas", { className: "xai-fm-grid", attrs: { "data-draw-count": "0", role: "img", "aria-label": "feature maps" } });
  const focus = createCellView(doc, 0, () => undefined);
  focus.element.classList.add("xai-fm-focus");
  const body = createElement(doc, "div", { className: "xai-fm-body" }, [canvas, focus.element]);
  const root = createElement(doc, "div", { className: "xai-compare xai-feature-maps", attrs: { "data-state": "loading" } }, [
    title, notes, error, toolbar, display.element, body,
  ]);
  host.append(root);

  let page = 0;
  let layout: PageLayout | null = null;
  let atlas: Uint8Array = new Uint8Array(0);
  let photo: Pixels | null = null;
  let photoToken = 0;

  const shape = (): [number, number, number] => {
    const s = model.get("atlas_shape");
    return Array.isArray(s) && s.length === 3 ? [s[0], s[1], s[2]] : [0, 0, 0];
  };
  const order = (): number[] => (Array.isArray(model.get("order")) ? model.get("order") : []);
  const pageSize = () => Math.max(1, Number(model.get("page_size")) || 256);
  const pages = () => Math.max(1, Math.ceil(order().length / pageSize()));

  function gridTable(): Uint8Array {
    const name = String(display.current().colormap);
    return colormapTable(isKnownColormap(name) && !isDiverging(name) ? name : DEFAULT_SEQUENTIAL);
  }

  function drawPage(): void {
    const [count, h, w] = shape();
    page = Math.min(page, pages() - 1);
    pageLabel.textContent = `page ${page + 1} of ${pages()}`;
    previous.disabled = page <= 0;
    next.disabled = page >= pages() - 1;
    if (count === 0 || atlas.length !== count * h * w) return;
    layout = pageLayout(order(), page, pageSize(), Number(model.get("columns")) || 16, h, w);
    paintCanvas(canvas, drawAtlasPage(atlas, h, w, layout, gridTable()));
    canvas.style.width = `${canvas.width}px`;
    root.setAttribute("data-state", photo ? "ready" : "loading");
  }

  function statsText(channel: number): string {
    const stats = (model.get("channel_stats") ?? {}) as Record<string, number[]>;
    const parts = [`channel ${channel}`];
    if (stats.mean) parts.push(`mean ${Number(stats.mean[channel]).toPrecision(3)}`);
    if (stats.weight) parts.push(`weight ${Number(stats.weight[channel]).toPrecision(3)}`);
    return parts.join(" · ");
  }

  function paintFocus(): void {
    const channel = Number(model.get("selected"));
    const [count, h, w] = shape();
    focus.element.hidden = !(channel >= 0 && channel < count);
    if (focus.element.hidden || !photo) return;
    focus.setCell({ title: statsText(channel), shape: [h, w], data: channelMap(atlas, channel, h, w), signed: false, error: null }, photo);
    focus.paint(photo, display.current());
  }

  function readAtlas(): void {
    const bytes = model.get("atlas");
    atlas = byteLength(bytes) > 0 ? copyBytes(bytes as Binary) : new Uint8Array(0);
    page = 0;
    drawPage();
    paintFocus();
  }

  function showText(): void {
    title.textContent = String(model.get("title") ?? "");
    const message = String(model.get("error") ?? "");
    error.textContent = message;
    error.hidden = message === "";
    const list: string[] = Array.isArray(model.get("notes")) ? model.get("notes") : [];
    notes.textContent = list.join("\n");
    notes.hidden = list.length === 0;
  }

  function showChoices(): void {
    const classes = (Array.isArray(model.get("classes")) ? model.get("classes") : []) as Array<{ index: number; label: string; prob: number }>;
    setOptions(classSelect, classes.map((c) => [String(c.index), `${c.label} (${(c.prob * 100).toFixed(1)}%)`]), String(model.get("target")));
    const sorts: string[] = Array.isArray(model.get("sorts")) ? model.get("sorts") : [];
    setOptions(sortSelect, sorts.map((s) => [s, SORT_LABELS[s] ?? s]), String(model.get("sort") ?? "index"));
  }

  function loadPhoto(): void {
    const token = ++photoToken;
    const bytes = model.get("photo");
    if (byteLength(bytes) === 0) return;
    decodePhoto(bytes).then(
      (pixels) => {
        if (token !== photoToken) return;
        photo = pixels;
        drawPage();
        paintFocus();
      },
      (problem) => {
        if (token === photoToken) error.textContent = `could not decode the photo: ${errorMessage(problem)}`;
      },
    );
  }

  subs.dom(canvas, "click", (event) => {
    if (!layout) return;
    const mouse = event as MouseEvent;
    const box = canvas.getBoundingClientRect();
    const x = ((mouse.clientX - box.left) * canvas.width) / Math.max(1, box.width);
    const y = ((mouse.clientY - box.top) * canvas.height) / Math.max(1, box.height);
    const channel = channelAt(layout, x, y);
    if (channel >= 0) setShared(model, "selected", channel);
  });
  subs.dom(classSelect, "change", () => setShared(model, "target", Number(classSelect.value)));
  subs.dom(sortSelect, "change", () => setShared(model, "sort", sortSelect.value));
  subs.dom(previous, "click", () => {
    page = Math.max(0, page - 1);
    drawPage();
  });
  subs.dom(next, "click", () => {
    page = Math.min(pages() - 1, page + 1);
    drawPage();
  });
  const listen = (names: string[], handler: () => void) => {
    for (const name of names) subs.model(model, `change:${name}`, handler);
  };
  listen(["atlas", "atlas_shape"], readAtlas);
  listen(["order"], () => {
    page = 0; // a new order starts from its top
    drawPage();
  });
  listen(["columns", "page_size"], drawPage);
  listen(["selected", "channel_stats"], paintFocus);
  listen(["title", "error", "notes"], showText);
  listen(["classes", "target", "sorts", "sort"], showChoices);
  listen(["photo"], loadPhoto);
  showText();
  showChoices();
  readAtlas();
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
    return mountFeatureMaps(model, el);
  },
};
