import { widgetEntry } from "./entry";
import { createCellView, type CellView } from "./compareCell";
import { createDisplayControls } from "./controls/displayControls";
import { setShared, Subscriptions } from "./controls/subscriptions";
import { controlRow, createElement, errorMessage, setOptions } from "./dom";
import { formatPercent } from "./format";
import { byteLength, decodePng } from "./photo";
import type { Binary, CompareCell, MethodInfo, Pixels, TopClass, WidgetModel } from "./types";

/** One model's panel as the kernel sends it (`panels`). */
export interface ModelPanel extends CompareCell {
  name: string;
  /** Grows with every panel the kernel computes: an unchanged panel is not repainted. */
  seq?: number;
  layers: string[];
  layer: string;
  top: TopClass[];
}

/** Replaceable pieces, for tests without a browser. */
export interface CompareModelsOptions {
  decodePhoto?: (bytes: Binary) => Promise<Pixels>;
}

/** `layer_choice` with panel `index` set to `layer` (the others as they are). */
export function withLayer(choice: readonly string[], index: number, layer: string): string[] {
  const next = [...choice];
  next[index] = layer;
  return next;
}

interface PanelView {
  element: HTMLElement;
  cell: CellView;
  layer: HTMLSelectElement;
  top: HTMLElement;
  photo: Pixels | null;
  token: number;
  /** The `seq` of the panel on the canvas (-1: nothing drawn, or it must be drawn again). */
  painted: number;
}

/**
 * Build the CompareModels widget in `host`: a title, the shared method and display controls
 * (display: front end only), then one panel per model (its name, its photo with the map, its
 * layer select and top classes). Returns the cleanup function.
 */
export function mountCompareModels(model: WidgetModel, host: HTMLElement, options: CompareModelsOptions = {}): () => void {
  const decodePhoto = options.decodePhoto ?? decodePng;
  const doc = host.ownerDocument;
  const subs = new Subscriptions();
  const display = createDisplayControls(doc, model, subs, () => paintAll());
  const method = createElement(doc, "select", { className: "xai-method-select", attrs: { "aria-label": "method" } });
  const title = createElement(doc, "div", { className: "xai-compare-title" });
  const grid = createElement(doc, "div", { className: "xai-compare-grid xai-models-grid" });
  const root = createElement(doc, "div", { className: "xai-compare xai-compare-models", attrs: { "data-state": "loading" } }, [
    title,
    controlRow(doc, "Method", method),
    display.element,
    grid,
  ]);
  host.append(root);
  const views: PanelView[] = [];

  const panels = (): ModelPanel[] => (Array.isArray(model.get("panels")) ? model.get("panels") : []);

  function makeView(index: number): PanelView {
    const cell = createCellView(doc, index, () => undefined);
    const layer = createElement(doc, "select", { className: "xai-model-layer", attrs: { "aria-label": "layer" } });
    const top = createElement(doc, "ol", { className: "xai-model-top" });
    const element = createElement(doc, "div", { className: "xai-model-panel", attrs: { "data-index": String(index) } }, [
      cell.element,
      controlRow(doc, "Layer", layer),
      top,
    ]);
    subs.dom(layer, "change", () => {
      const choice: string[] = model.get("layer_choice") ?? [];
      setShared(model, "layer_choice", withLayer(choice, index, layer.value));
    });
    grid.append(element);
    return { element, cell, layer, top, photo: null, token: 0, painted: -1 };
  }

  function showPanels(): void {
    const all = panels();
    while (views.length < all.length) views.push(makeView(views.length));
    for (const view of views.splice(all.length)) view.element.remove();
    const methods: MethodInfo[] = model.get("methods") ?? [];
    const usesLayer = methods.find((m) => m.name === model.get("method"))?.uses_layer !== false;
    all.forEach((panel, index) => {
      const view = views[index];
      const seq = Number(panel.seq ?? -2);
      if (seq === view.painted && view.photo) return; // the same panel: nothing to do
      view.painted = -1;
      view.cell.setCell(panel, view.photo);
      setOptions(view.layer, panel.layers.map((name): [string, string] => [name, name]), panel.layer);
      view.layer.disabled = !usesLayer || panel.layers.length === 0;
      view.top.replaceChildren(
        ...panel.top.map((entry) => createElement(doc, "li", { text: `${entry.label} ${formatPercent(entry.prob)}` })),
      );
    });
    paintAll(false);
  }

  /** Paint the panels that need it (`all`: every panel, after a display control moved). */
  function paintAll(all = true): void {
    const options = display.current();
    const current = panels();
    views.forEach((view, index) => {
      if (!view.photo || (!all && view.painted !== -1)) return;
      view.cell.paint(view.photo, options);
      view.painted = Number(current[index]?.seq ?? -2);
    });
    const ready = views.length > 0 && views.every((view, index) => view.photo || byteLength(photoBytes(index)) === 0);
    root.setAttribute("data-state", ready ? "ready" : "loading");
  }

  const photoBytes = (index: number): unknown => (model.get("photos") ?? [])[index];

  function loadPhotos(): void {
    const all = panels();
    while (views.length < all.length) views.push(makeView(views.length));
    views.forEach((view, index) => {
      const token = ++view.token;
      view.photo = null;
      const bytes = photoBytes(index);
      if (byteLength(bytes) === 0) return;
      decodePhoto(bytes as Binary).then(
        (pixels) => {
          if (token !== view.token) return;
          view.photo = pixels;
          view.painted = -1;
          showPanels();
        },
        (problem) => {
          if (token === view.token) view.cell.setCell({ ...all[index], error: `could not decode the photo: ${errorMessage(problem)}` }, null);
        },
      );
    });
    showPanels();
  }

  function showMethods(): void {
    const methods: MethodInfo[] = model.get("methods") ?? [];
    setOptions(method, methods.map((m): [string, string] => [m.name, m.label]), String(model.get("method") ?? ""));
  }

  subs.dom(method, "change", () => setShared(model, "method", method.value));
  subs.model(model, "change:panels", showPanels);
  subs.model(model, "change:photos", loadPhotos);
  subs.model(model, "change:methods", showMethods);
  subs.model(model, "change:method", () => {
    showMethods();
    showPanels();
  });
  subs.model(model, "change:title", () => (title.textContent = String(model.get("title") ?? "")));
  title.textContent = String(model.get("title") ?? "");
  showMethods();
  loadPhotos();

  return () => {
    for (const view of views) view.token += 1;
    subs.dispose();
    root.remove();
  };
}

/** anywidget entry point. */
export default widgetEntry((model, el) => mountCompareModels(model, el));
