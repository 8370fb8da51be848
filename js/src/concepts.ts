import { widgetEntry } from "./entry";
import { blendPixels } from "./blend";
import { createDisplayControls } from "./controls/displayControls";
import { setShared, Subscriptions } from "./controls/subscriptions";
import { controlRow, createElement, errorMessage, setOptions } from "./dom";
import { formatPercent } from "./format";
import { composeFrame, prepareMap, type MapSource, type PreparedMap } from "./heatmap";
import { createLegendView } from "./legend";
import { paintCanvas } from "./paint";
import { byteLength, decodePng } from "./photo";
import type { Binary, DisplayOptions, Pixels, TopClass, WidgetModel } from "./types";

/** One concept of the legend (`legend` trait). */
export interface ConceptEntry {
  index: number;
  color: string;
  votes: TopClass[];
}

/** Replaceable pieces, for tests without a browser. */
export interface ConceptsOptions {
  decodePhoto?: (bytes: Binary) => Promise<Pixels>;
}

/** "#rrggbb" as [r, g, b]. */
export function hexColor(color: string): [number, number, number] {
  const value = Number.parseInt(color.replace("#", ""), 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

/**
 * Every pixel in the colour of the concept that dominates it (each concept scaled by its own
 * peak), blended over the photo with `opacity` × that concept's strength there.
 */
export function conceptFrame(photo: Pixels, maps: readonly PreparedMap[], colors: readonly string[], opacity: number): Pixels {
  const count = photo.width * photo.height;
  const peaks = maps.map((map) => map.values.reduce((a, b) => Math.max(a, b), 0) || 1);
  const rgb = colors.map(hexColor);
  const heat = new Uint8ClampedArray(count * 4);
  const weights = new Float32Array(count);
  for (let p = 0; p < count; p++) {
    let best = 0;
    let strength = -1;
    for (let k = 0; k < maps.length; k++) {
      const value = maps[k].values[p] / peaks[k];
      if (value > strength) {
        strength = value;
        best = k;
      }
    }
    const [r, g, b] = rgb[best] ?? [255, 255, 255];
    heat[p * 4] = r;
    heat[p * 4 + 1] = g;
    heat[p * 4 + 2] = b;
    heat[p * 4 + 3] = 255;
    weights[p] = Math.max(0, strength);
  }
  return { ...photo, data: blendPixels(photo.data, heat, opacity, weights) };
}

/**
 * Build the Concepts widget in `host`: a title, layer and concept-count controls, the display
 * controls (front end only), the canvas and a legend of concepts (click one: it alone, as a
 * heatmap; click again: all). Returns the cleanup function.
 */
export function mountConcepts(model: WidgetModel, host: HTMLElement, options: ConceptsOptions = {}): () => void {
  const decodePhoto = options.decodePhoto ?? decodePng;
  const doc = host.ownerDocument;
  const subs = new Subscriptions();
  const display = createDisplayControls(doc, model, subs, () => paint());
  const title = createElement(doc, "div", { className: "xai-compare-title" });
  const layer = createElement(doc, "select", { className: "xai-layer-select", attrs: { "aria-label": "layer" } });
  const count = createElement(doc, "select", { className: "xai-concept-count", attrs: { "aria-label": "concepts" } });
  const canvas = createElement(doc, "canvas", {
    className: "xai-canvas xai-concept-canvas",
    attrs: { "data-draw-count": "0", "data-shown": "all", role: "img", "aria-label": "concepts over the photo" },
  });
  const scale = createLegendView(doc);
  const legend = createElement(doc, "ol", { className: "xai-concept-legend" });
  const error = createElement(doc, "div", { className: "xai-compare-error", attrs: { role: "alert" } });
  error.hidden = true;
  const root = createElement(doc, "div", { className: "xai-compare xai-concepts", attrs: { "data-state": "loading" } }, [
    title,
    createElement(doc, "div", { className: "xai-display" }, [controlRow(doc, "Layer", layer), controlRow(doc, "Concepts", count)]),
    display.element,
    error,
    createElement(doc, "div", { className: "xai-concepts-body" }, [
      createElement(doc, "div", { className: "xai-concepts-picture" }, [canvas, scale.element]),
      legend,
    ]),
  ]);
  host.append(root);

  let photo: Pixels | null = null;
  let token = 0;
  let maps: PreparedMap[] = [];

  const entries = (): ConceptEntry[] => (Array.isArray(model.get("legend")) ? model.get("legend") : []);

  function prepare(): void {
    maps = [];
    if (!photo) return;
    const sources: MapSource[] = model.get("concept_maps") ?? [];
    try {
      maps = sources.map((source) => prepareMap(source, photo!.width, photo!.height));
    } catch (problem) {
      error.textContent = `could not draw the concepts: ${errorMessage(problem)}`;
      error.hidden = false;
    }
  }

  function paint(): void {
    const selected = Number(model.get("selected"));
    if (photo && maps.length > 0) {
      const current: DisplayOptions = display.current();
      if (selected >= 0 && selected < maps.length) {
        const frame = composeFrame(photo, maps[selected], current);
        paintCanvas(canvas, frame.pixels);
        scale.show(frame.legend);
      } else {
        const colors = entries().map((entry) => entry.color);
        paintCanvas(canvas, conceptFrame(photo, maps, colors, current.opacity));
        scale.show(null);
      }
      canvas.setAttribute("data-shown", selected >= 0 ? String(selected) : "all");
    }
    const failed = String(model.get("error") ?? "");
    if (failed) {
      error.textContent = failed;
      error.hidden = false;
    } else if (!error.textContent?.startsWith("could not")) {
      error.hidden = true;
    }
    root.setAttribute("data-state", failed ? "error" : photo && maps.length ? "ready" : "loading");
  }

  function showLegend(): void {
    const selected = Number(model.get("selected"));
    legend.replaceChildren(
      ...entries().map((entry) => {
        const swatch = createElement(doc, "span", { className: "xai-concept-swatch" });
        swatch.style.background = entry.color;
        const votes = entry.votes.map((vote) => `${vote.label} ${formatPercent(vote.prob)}`).join(", ");
        const button = createElement(
          doc,
          "button",
          {
            className: entry.index === selected ? "xai-concept xai-selected" : "xai-concept",
            attrs: { type: "button", "data-index": String(entry.index), "aria-pressed": String(entry.index === selected) },
          },
          [swatch, createElement(doc, "span", { text: `concept ${entry.index + 1}: ${votes || "no classifier to read it"}` })],
        );
        button.addEventListener("click", () => setShared(model, "selected", entry.index === selected ? -1 : entry.index));
        return createElement(doc, "li", {}, [button]);
      }),
    );
  }

  function showControls(): void {
    const layers: Array<{ name: string; shape?: number[] }> = model.get("layers") ?? [];
    setOptions(layer, layers.map((info): [string, string] => [info.name, `${info.name} ${(info.shape ?? []).join("×")}`]),
      String(model.get("layer") ?? ""));
    const counts = Array.from({ length: 15 }, (_, i) => String(i + 2));
    setOptions(count, counts.map((n): [string, string] => [n, n]), String(model.get("count")));
  }

  function loadPhoto(): void {
    const current = ++token;
    photo = null;
    const bytes = model.get("photo");
    if (byteLength(bytes) === 0) return paint();
    decodePhoto(bytes).then(
      (pixels) => {
        if (current !== token) return;
        photo = pixels;
        prepare();
        paint();
      },
      (problem) => {
        if (current !== token) return;
        error.textContent = `could not decode the photo: ${errorMessage(problem)}`;
        error.hidden = false;
      },
    );
  }

  subs.dom(layer, "change", () => setShared(model, "layer", layer.value));
  subs.dom(count, "change", () => setShared(model, "count", Number(count.value)));
  subs.model(model, "change:concept_maps", () => {
    prepare();
    paint();
  });
  subs.model(model, "change:legend", () => {
    showLegend();
    paint();
  });
  subs.model(model, "change:selected", () => {
    showLegend();
    paint();
  });
  subs.model(model, "change:error", paint);
  subs.model(model, "change:photo", loadPhoto);
  for (const name of ["layers", "layer", "count"]) subs.model(model, `change:${name}`, showControls);
  subs.model(model, "change:title", () => (title.textContent = String(model.get("title") ?? "")));
  title.textContent = String(model.get("title") ?? "");
  showControls();
  showLegend();
  loadPhoto();

  return () => {
    token += 1;
    subs.dispose();
    root.remove();
  };
}

/** anywidget entry point. */
export default widgetEntry((model, el) => mountConcepts(model, el));
