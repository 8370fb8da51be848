import { createElement } from "../dom";
import type { WidgetModel } from "../types";
import { createClassSection } from "./classSection";
import { createDisplayControls, type DisplayOptions } from "./displayControls";
import { createImagePicker } from "./imagePicker";
import { createLayerControl } from "./layerControl";
import { createMethodParams } from "./methodParams";
import { createMethodSelect } from "./methodSelect";
import { Subscriptions } from "./subscriptions";
import { createPushControl } from "./pushControl";
import { createTargetControl } from "./targetControl";

export type { DisplayOptions };

/** The control panel, wired to the model. */
export interface Controls {
  element: HTMLElement;
  /** Current opacity, colormap, normalisation and view (front-end only). */
  display(): DisplayOptions;
  /** Show beside the colormap control the colormap the map on screen is drawn with. */
  showColormapUsed(name: string): void;
  /** Remove every listener the panel added. */
  dispose(): void;
}

/**
 * Build the control panel. Shared controls (image, class, method and its parameters, layer)
 * write the model and save; display controls (opacity, colormap, normalisation) only call
 * `onDisplayChange` to repaint.
 */
export function createControls(doc: Document, model: WidgetModel, onDisplayChange: () => void): Controls {
  const subs = new Subscriptions();
  const display = createDisplayControls(doc, model, subs, onDisplayChange);
  const element = createElement(doc, "div", { className: "xai-panel" }, [
    createImagePicker(doc, model, subs),
    createClassSection(doc, model, subs),
    createTargetControl(doc, model, subs),
    createMethodSelect(doc, model, subs),
    createMethodParams(doc, model, subs),
    createLayerControl(doc, model, subs),
    display.element,
    createPushControl(doc, model, subs),
  ]);
  return { element, display: display.current, showColormapUsed: display.showUsed, dispose: () => subs.dispose() };
}
