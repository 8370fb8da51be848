import { controlRow, createElement, setOptions } from "../dom";
import { formatLayer } from "../format";
import type { LayerInfo, MethodInfo, WidgetModel } from "../types";
import { setShared, type Subscriptions } from "./subscriptions";

/** Whether the method currently selected uses a layer (unknown methods are assumed to). */
export function methodUsesLayer(methods: readonly MethodInfo[], name: string): boolean {
  const method = methods.find((m) => m.name === name);
  return method ? method.uses_layer !== false : true;
}

/**
 * Layer control: a <select> of every layer ("name  C×H×W") and a range slider over the same
 * list, kept in sync; both set `layer`. Disabled while the method does not use a layer.
 */
export function createLayerControl(doc: Document, model: WidgetModel, subs: Subscriptions): HTMLElement {
  const select = createElement(doc, "select", { className: "xai-layer-select", attrs: { "aria-label": "layer" } });
  const slider = createElement(doc, "input", {
    className: "xai-layer-slider",
    attrs: { type: "range", min: "0", step: "1", "aria-label": "layer sweep", "data-lm-suppress-shortcuts": "true" },
  });
  const row = controlRow(doc, "Layer", createElement(doc, "div", { className: "xai-stack" }, [select, slider]));
  row.classList.add("xai-layer");

  function layers(): LayerInfo[] {
    return model.get("layers") ?? [];
  }

  function renderLayers(): void {
    const all = layers();
    setOptions(select, all.map((layer) => [layer.name, formatLayer(layer)]), model.get("layer") ?? "");
    slider.max = String(Math.max(0, all.length - 1));
    showLayer();
  }

  function showLayer(): void {
    const name = model.get("layer") ?? "";
    select.value = name;
    const index = layers().findIndex((layer) => layer.name === name);
    slider.value = String(Math.max(0, index));
  }

  function renderEnabled(): void {
    const enabled = methodUsesLayer(model.get("methods") ?? [], model.get("method") ?? "") && layers().length > 0;
    select.disabled = !enabled;
    slider.disabled = !enabled;
    row.classList.toggle("xai-disabled", !enabled);
    row.title = enabled ? "" : "this method does not use a layer";
  }

  subs.dom(select, "change", () => {
    setShared(model, "layer", select.value);
    showLayer();
  });
  subs.dom(slider, "input", () => {
    const layer = layers()[Number(slider.value)];
    if (!layer) return;
    select.value = layer.name;
    setShared(model, "layer", layer.name);
  });
  subs.model(model, "change:layers", () => {
    renderLayers();
    renderEnabled();
  });
  subs.model(model, "change:layer", showLayer);
  subs.model(model, "change:method", renderEnabled);
  subs.model(model, "change:methods", renderEnabled);
  renderLayers();
  renderEnabled();
  return row;
}
