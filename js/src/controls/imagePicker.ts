import { controlRow, createElement, setOptions } from "../dom";
import type { WidgetModel } from "../types";
import { setShared, type Subscriptions } from "./subscriptions";

/** Image <select> from `image_names`; sets `image_index`. Hidden when there is only one image. */
export function createImagePicker(doc: Document, model: WidgetModel, subs: Subscriptions): HTMLElement {
  const select = createElement(doc, "select", { className: "xai-image-select", attrs: { "aria-label": "image" } });
  const row = controlRow(doc, "Image", select);

  function render(): void {
    const names: string[] = model.get("image_names") ?? [];
    setOptions(select, names.map((name, index) => [String(index), name]), String(model.get("image_index") ?? 0));
    row.hidden = names.length <= 1;
  }

  subs.dom(select, "change", () => setShared(model, "image_index", Number(select.value)));
  subs.model(model, "change:image_names", render);
  subs.model(model, "change:image_index", () => (select.value = String(model.get("image_index") ?? 0)));
  render();
  return row;
}
