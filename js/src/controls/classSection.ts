import { controlRow, createElement } from "../dom";
import { findMethod } from "../params";
import type { MethodInfo, WidgetModel } from "../types";
import { createClassPicker } from "./classPicker";
import type { Subscriptions } from "./subscriptions";
import { createTopClasses } from "./topClasses";

/** Whether a method explains a class (false for Eigen-CAM); unknown methods are assumed to. */
export function methodUsesTarget(methods: readonly MethodInfo[] | null | undefined, name: string): boolean {
  return findMethod(methods, name)?.uses_target !== false;
}

/** The list's caption for each kind of model output. */
const CAPTIONS: Record<string, string> = {
  classes: "Explain class",
  segmentation: "Explain region (share of pixels; or click / drag on the image)",
  detection: "Explain box (score; or click a box on the image)",
};

/**
 * The class controls: the top-5 list and the "Any class" picker. For a class-free method
 * (`uses_target: false`) they are dimmed, stay usable, and a note says "class-free method".
 */
export function createClassSection(doc: Document, model: WidgetModel, subs: Subscriptions): HTMLElement {
  const note = createElement(doc, "span", { className: "xai-class-note", text: "class-free method" });
  const caption = createElement(doc, "span", { className: "xai-caption", text: "Explain class" });
  const top = createElement(doc, "div", { className: "xai-section" }, [caption, createTopClasses(doc, model, subs)]);
  const picker = controlRow(doc, "Any class", createClassPicker(doc, model, subs));
  const element = createElement(doc, "div", { className: "xai-class-controls" }, [note, top, picker]);

  function render(): void {
    const classFree = !methodUsesTarget(model.get("methods"), model.get("method") ?? "");
    note.hidden = !classFree;
    element.classList.toggle("xai-class-free", classFree);
    element.title = classFree ? "this method does not depend on the class" : "";
    caption.textContent = CAPTIONS[String(model.get("output_kind") ?? "classes")] ?? CAPTIONS.classes;
  }

  subs.model(model, "change:method", render);
  subs.model(model, "change:methods", render);
  subs.model(model, "change:output_kind", render);
  render();
  return element;
}
