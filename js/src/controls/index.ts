import { controlRow, createElement } from "../dom";
import type { WidgetModel } from "../types";
import { createClassPicker } from "./classPicker";
import { createDisplayControls, type DisplayOptions } from "./displayControls";
import { createImagePicker } from "./imagePicker";
import { createLayerControl } from "./layerControl";
import { createMethodSelect } from "./methodSelect";
import { Subscriptions } from "./subscriptions";
import { createTopClasses } from "./topClasses";

export type { DisplayOptions };

/** The control panel, wired to the model. */
export interface Controls {
  element: HTMLElement;
  /** Current opacity and colormap (front-end only). */
  display(): DisplayOptions;
  /** Remove every listener the panel added. */
  dispose(): void;
}

/**
 * Build the control panel. Shared controls (image, class, layer, method) write the model and
 * save; display controls (opacity, colormap) only call `onDisplayChange` to repaint.
 */
export function createControls(doc: Document, model: WidgetModel, onDisplayChange: () => void): Controls {
  const subs = new Subscriptions();
  const display = createDisplayControls(doc, model, subs, onDisplayChange);
  const element = createElement(doc, "div", { className: "xai-panel" }, [
    createImagePicker(doc, model, subs),
    createElement(doc, "div", { className: "xai-section" }, [
      createElement(doc, "span", { className: "xai-caption", text: "Explain class" }),
      createTopClasses(doc, model, subs),
    ]),
    controlRow(doc, "Any class", createClassPicker(doc, model, subs)),
    createMethodSelect(doc, model, subs),
    createLayerControl(doc, model, subs),
    display.element,
  ]);
  return { element, display: display.current, dispose: () => subs.dispose() };
}
