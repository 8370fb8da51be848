import { widgetEntry } from "./entry";
import { colormapTable } from "./colormap";
import { createDisplayControls } from "./controls/displayControls";
import { setShared, Subscriptions } from "./controls/subscriptions";
import { copyBytes } from "./decode";
import { controlRow, createElement, errorMessage, setOptions } from "./dom";
import { drawAtlasPage, pageLayout } from "./atlas";
import { formatPercent } from "./format";
import { composeFrame, prepareMap } from "./heatmap";
import { createLegendView } from "./legend";
import { paintCanvas } from "./paint";
import { byteLength, decodePng } from "./photo";
import type { Binary, Pixels, TopClass, WidgetModel } from "./types";

/** One step as the kernel sends it (`steps`). */
export interface CamStep {
  name: string;
  kind: "grid" | "bars" | "map" | "overlay";
  title: string;
  text: string;
  changed?: boolean;
  signed?: boolean;
  shape?: number[];
  channels?: number[];
  atlas?: Binary;
  data?: Binary;
  bars?: Array<{ channel: number; value: number }>;
}

/** Replaceable pieces, for tests without a browser. */
export interface CamStepsOptions {
  decodePhoto?: (bytes: Binary) => Promise<Pixels>;
}

const GRID_COLUMNS = 8;

/** Bar widths (percent of the longest) and sides for signed values. */
export function barWidths(values: readonly number[]): number[] {
  const largest = Math.max(...values.map(Math.abs), 1e-30);
  return values.map((value) => (100 * Math.abs(value)) / largest);
}

/** A blank (black) picture the size of the photo, for maps drawn alone. */
function blank(photo: Pixels): Pixels {
  const data = new Uint8ClampedArray(photo.width * photo.height * 4);
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return { width: photo.width, height: photo.height, data };
}

/**
 * Build the GradCAMSteps widget in `host`: the title, class and method controls, the display
 * controls, then one step at a time (previous / next) with its explanation and its drawing: a
 * grid of channels, a bar chart of weights, a map, or the map over the photo.
 */
export function mountCamSteps(model: WidgetModel, host: HTMLElement, options: CamStepsOptions = {}): () => void {
  const decodePhoto = options.decodePhoto ?? decodePng;
  const doc = host.ownerDocument;
  const subs = new Subscriptions();
  const display = createDisplayControls(doc, model, subs, () => draw());
  const title = createElement(doc, "div", { className: "xai-compare-title" });
  const classes = createElement(doc, "select", { className: "xai-steps-class", attrs: { "aria-label": "class" } });
  const method = createElement(doc, "select", { className: "xai-steps-method", attrs: { "aria-label": "method" } });
  const previous = createElement(doc, "button", { className: "xai-steps-previous", text: "← Previous", attrs: { type: "button" } });
  const next = createElement(doc, "button", { className: "xai-steps-next", text: "Next →", attrs: { type: "button" } });
  const counter = createElement(doc, "span", { className: "xai-steps-counter" });
  const heading = createElement(doc, "div", { className: "xai-steps-heading" });
  const text = createElement(doc, "p", { className: "xai-steps-text" });
  const canvas = createElement(doc, "canvas", { className: "xai-canvas xai-steps-canvas", attrs: { "data-draw-count": "0", role: "img" } });
  const bars = createElement(doc, "div", { className: "xai-steps-bars" });
  const scale = createLegendView(doc);
  const error = createElement(doc, "div", { className: "xai-compare-error", attrs: { role: "alert" } });
  error.hidden = true;
  const root = createElement(doc, "div", { className: "xai-compare xai-cam-steps", attrs: { "data-state": "loading", "data-step": "" } }, [
    title,
    createElement(doc, "div", { className: "xai-display" }, [controlRow(doc, "Class", classes), controlRow(doc, "Method", method)]),
    display.element,
    error,
    createElement(doc, "div", { className: "xai-inline xai-steps-nav" }, [previous, counter, next]),
    heading,
    text,
    createElement(doc, "div", { className: "xai-steps-picture" }, [canvas, scale.element]),
    bars,
  ]);
  host.append(root);
  let photo: Pixels | null = null;
  let token = 0;

  const steps = (): CamStep[] => (Array.isArray(model.get("steps")) ? model.get("steps") : []);
  const index = (): number => Math.min(Math.max(0, Number(model.get("step")) || 0), Math.max(0, steps().length - 1));

  function draw(): void {
    const all = steps();
    const step = all[index()];
    previous.disabled = index() === 0;
    next.disabled = index() >= all.length - 1;
    if (!step) return;
    counter.textContent = `step ${index() + 1} of ${all.length}`;
    heading.textContent = `${index() + 1}. ${step.title}${step.changed ? " (changed with the class)" : ""}`;
    heading.classList.toggle("xai-changed", !!step.changed);
    text.textContent = step.text;
    root.setAttribute("data-step", step.name);
    bars.hidden = step.kind !== "bars";
    canvas.hidden = step.kind === "bars";
    scale.show(null);
    if (step.kind === "bars") {
      const values = (step.bars ?? []).map((bar) => bar.value);
      const widths = barWidths(values);
      bars.replaceChildren(
        ...(step.bars ?? []).map((bar, i) => {
          const fill = createElement(doc, "span", { className: bar.value >= 0 ? "xai-bar xai-bar-up" : "xai-bar xai-bar-down" });
          fill.style.width = `${widths[i]}%`;
          return createElement(doc, "div", { className: "xai-steps-bar", attrs: { "data-channel": String(bar.channel) } }, [
            createElement(doc, "span", { className: "xai-steps-bar-label", text: `channel ${bar.channel}` }),
            createElement(doc, "span", { className: "xai-steps-bar-track" }, [fill]),
            createElement(doc, "span", { className: "xai-steps-bar-value", text: bar.value.toPrecision(3) }),
          ]);
        }),
      );
      root.setAttribute("data-state", "ready");
      return;
    }
    if (!photo) return;
    try {
      if (step.kind === "grid") {
        const [count, h, w] = step.shape ?? [0, 0, 0];
        const layout = pageLayout(Array.from({ length: count }, (_, i) => i), 0, count, GRID_COLUMNS, h, w);
        const table = colormapTable(step.signed ? "coolwarm" : "viridis");
        paintCanvas(canvas, drawAtlasPage(copyBytes(step.atlas as Binary), h, w, layout, table));
      } else {
        const map = prepareMap(step, photo.width, photo.height);
        const current = display.current();
        const base = step.kind === "overlay" ? photo : blank(photo);
        const frame = composeFrame(base, map, step.kind === "overlay" ? current : { ...current, opacity: 1, view: "overlay" });
        paintCanvas(canvas, frame.pixels);
        scale.show(frame.legend);
      }
      error.hidden = !String(model.get("error") ?? "");
      error.textContent = String(model.get("error") ?? "");
      root.setAttribute("data-state", String(model.get("error") ?? "") ? "error" : "ready");
    } catch (problem) {
      error.textContent = `could not draw this step: ${errorMessage(problem)}`;
      error.hidden = false;
      root.setAttribute("data-state", "error");
    }
  }

  function showControls(): void {
    const top: TopClass[] = model.get("classes") ?? [];
    setOptions(classes, top.map((c): [string, string] => [String(c.index), `${c.label} (${formatPercent(c.prob)})`]), String(model.get("target")));
    const names: Array<{ name: string; label: string }> = model.get("methods") ?? [];
    setOptions(method, names.map((m): [string, string] => [m.name, m.label]), String(model.get("method")));
    title.textContent = String(model.get("title") ?? "");
  }

  function loadPhoto(): void {
    const current = ++token;
    const bytes = model.get("photo");
    if (byteLength(bytes) === 0) return;
    decodePhoto(bytes).then(
      (pixels) => {
        if (current !== token) return;
        photo = pixels;
        draw();
      },
      (problem) => {
        error.textContent = `could not decode the photo: ${errorMessage(problem)}`;
        error.hidden = false;
      },
    );
  }

  subs.dom(previous, "click", () => setShared(model, "step", Math.max(0, index() - 1)));
  subs.dom(next, "click", () => setShared(model, "step", Math.min(steps().length - 1, index() + 1)));
  subs.dom(classes, "change", () => setShared(model, "target", Number(classes.value)));
  subs.dom(method, "change", () => setShared(model, "method", method.value));
  for (const name of ["steps", "step", "error"]) subs.model(model, `change:${name}`, draw);
  for (const name of ["classes", "target", "methods", "method", "title"]) subs.model(model, `change:${name}`, showControls);
  subs.model(model, "change:photo", loadPhoto);
  showControls();
  loadPhoto();
  return () => {
    token += 1;
    subs.dispose();
    root.remove();
  };
}

/** anywidget entry point. */
export default widgetEntry((model, el) => mountCamSteps(model, el));
