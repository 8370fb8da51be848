import { controlRow, createElement, setOptions } from "../dom";
import { findMethod, paramDefaults, sameParams } from "../params";
import type { MethodInfo, WidgetModel } from "../types";
import type { Subscriptions } from "./subscriptions";

/**
 * Pick a method: set `method` and `method_params` (that method's defaults) together and save
 * once. Nothing is sent when both already hold those values.
 */
export function chooseMethod(model: WidgetModel, name: string): void {
  const params = paramDefaults(findMethod(model.get("methods"), name));
  if (model.get("method") === name && sameParams(model.get("method_params"), params)) return;
  model.set("method", name);
  model.set("method_params", params);
  model.save_changes();
}

/** Method <select>: shows each method's label, value is its name; sets `method` and `method_params`. */
export function createMethodSelect(doc: Document, model: WidgetModel, subs: Subscriptions): HTMLElement {
  const select = createElement(doc, "select", { className: "xai-method-select", attrs: { "aria-label": "method" } });

  function render(): void {
    const methods: MethodInfo[] = model.get("methods") ?? [];
    setOptions(select, methods.map((m) => [m.name, m.label || m.name]), model.get("method") ?? "");
  }

  subs.dom(select, "change", () => chooseMethod(model, select.value));
  subs.model(model, "change:methods", render);
  subs.model(model, "change:method", () => (select.value = model.get("method") ?? ""));
  render();
  return controlRow(doc, "Method", select);
}
