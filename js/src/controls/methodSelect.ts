import { controlRow, createElement, setOptions } from "../dom";
import type { MethodInfo, WidgetModel } from "../types";
import { setShared, type Subscriptions } from "./subscriptions";

/** Method <select>: shows each method's label, value is its name; sets `method`. */
export function createMethodSelect(doc: Document, model: WidgetModel, subs: Subscriptions): HTMLElement {
  const select = createElement(doc, "select", { className: "xai-method-select", attrs: { "aria-label": "method" } });

  function render(): void {
    const methods: MethodInfo[] = model.get("methods") ?? [];
    setOptions(select, methods.map((m) => [m.name, m.label || m.name]), model.get("method") ?? "");
  }

  subs.dom(select, "change", () => setShared(model, "method", select.value));
  subs.model(model, "change:methods", render);
  subs.model(model, "change:method", () => (select.value = model.get("method") ?? ""));
  render();
  return controlRow(doc, "Method", select);
}
