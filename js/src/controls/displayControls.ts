import { DIVERGING_COLORMAPS, SEQUENTIAL_COLORMAPS } from "../colormap";
import { controlRow, createElement, setOptions } from "../dom";
import { NORMALIZATIONS, toNormalization } from "../normalize";
import type { DisplayOptions, ViewMode, WidgetModel } from "../types";
import type { Subscriptions } from "./subscriptions";

export type { DisplayOptions };

/** The display controls and a reader for their current values. */
export interface DisplayControls {
  element: HTMLElement;
  current(): DisplayOptions;
  /** Say beside the colormap select which colormap the map on screen uses ("" or the chosen one: nothing). */
  showUsed(colormap: string): void;
}

const VIEWS: Array<[ViewMode, string]> = [
  ["overlay", "overlay"],
  ["side_by_side", "photo | map"],
];

/** A view mode from the model (anything unknown is the overlay). */
export function toView(value: unknown): ViewMode {
  return value === "side_by_side" ? "side_by_side" : "overlay";
}

/** Clamp an opacity to 0..1 (non-numbers become 0.5). */
function toOpacity(value: unknown): number {
  const n = Number(value);
  return Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : 0.5;
}

/**
 * Opacity slider, colormap, normalisation and view <select>s. They are front-end only: they
 * start from the model's `opacity`/`colormap`/`normalization`, follow changes made in Python,
 * and call `onChange` to repaint, but they never call model.set or model.save_changes (no
 * message goes to the kernel). Used by the Explorer and the Compare widget alike.
 */
export function createDisplayControls(
  doc: Document,
  model: WidgetModel,
  subs: Subscriptions,
  onChange: () => void,
): DisplayControls {
  const state: DisplayOptions = {
    opacity: toOpacity(model.get("opacity")),
    colormap: String(model.get("colormap") ?? ""),
    normalization: toNormalization(model.get("normalization")),
    view: toView(model.get("view_mode")),
  };

  const opacity = createElement(doc, "input", {
    className: "xai-opacity",
    attrs: { type: "range", min: "0", max: "1", step: "0.01", "aria-label": "opacity", "data-lm-suppress-shortcuts": "true" },
  });
  const opacityText = createElement(doc, "span", { className: "xai-value" });
  const colormap = createElement(doc, "select", { className: "xai-colormap", attrs: { "aria-label": "colormap" } });
  for (const [group, names] of [
    ["sequential", SEQUENTIAL_COLORMAPS],
    ["diverging (signed maps)", DIVERGING_COLORMAPS],
  ] as const) {
    const optgroup = createElement(doc, "optgroup", { attrs: { label: group } });
    for (const name of names) {
      const option = createElement(doc, "option", { text: name });
      option.value = name;
      optgroup.append(option);
    }
    colormap.append(optgroup);
  }

  const used = createElement(doc, "span", { className: "xai-colormap-used" });
  used.hidden = true;

  const normalization = createElement(doc, "select", {
    className: "xai-normalization",
    attrs: { "aria-label": "normalisation" },
  });
  setOptions(normalization, NORMALIZATIONS.map(([mode, text]): [string, string] => [mode, text]), state.normalization);

  const view = createElement(doc, "select", { className: "xai-view", attrs: { "aria-label": "view" } });
  setOptions(view, VIEWS, state.view ?? "overlay");

  function show(): void {
    view.value = state.view ?? "overlay";
    opacity.value = String(state.opacity);
    opacityText.textContent = `${Math.round(state.opacity * 100)}%`;
    colormap.value = state.colormap;
    normalization.value = state.normalization;
  }

  subs.dom(opacity, "input", () => {
    state.opacity = toOpacity(opacity.value);
    opacityText.textContent = `${Math.round(state.opacity * 100)}%`;
    onChange();
  });
  subs.dom(colormap, "change", () => {
    state.colormap = colormap.value;
    onChange();
  });
  subs.dom(normalization, "change", () => {
    state.normalization = toNormalization(normalization.value);
    onChange();
  });
  subs.dom(view, "change", () => {
    state.view = toView(view.value);
    onChange();
  });
  subs.model(model, "change:view_mode", () => {
    state.view = toView(model.get("view_mode"));
    show();
    onChange();
  });
  subs.model(model, "change:opacity", () => {
    state.opacity = toOpacity(model.get("opacity"));
    show();
    onChange();
  });
  subs.model(model, "change:colormap", () => {
    state.colormap = String(model.get("colormap") ?? "");
    show();
    onChange();
  });
  subs.model(model, "change:normalization", () => {
    state.normalization = toNormalization(model.get("normalization"));
    show();
    onChange();
  });
  show();

  const element = createElement(doc, "div", { className: "xai-display" }, [
    controlRow(doc, "Opacity", createElement(doc, "div", { className: "xai-inline" }, [opacity, opacityText])),
    controlRow(doc, "Colormap", createElement(doc, "div", { className: "xai-inline" }, [colormap, used])),
    controlRow(doc, "Normalisation", normalization),
    controlRow(doc, "View", view),
  ]);
  return {
    element,
    current: () => ({ ...state }),
    showUsed(name) {
      const differs = name !== "" && name !== state.colormap;
      used.hidden = !differs;
      used.textContent = differs ? `signed map: ${name}` : "";
      used.title = differs ? `Signed maps need a diverging colormap; this one is drawn with ${name}.` : "";
    },
  };
}
