import { controlRow, createElement, setOptions } from "../dom";
import { findMethod, formatParamValue, isChoiceParam, methodParams, paramValues, sameParams, sliderRange, snapParam } from "../params";
import type { MethodInfo, ParamInfo, ParamValue, WidgetModel } from "../types";
import type { Subscriptions } from "./subscriptions";

/**
 * The current method's parameters, one control each: a range slider with its value for
 * numeric parameters, a <select> for `choices`. Releasing a slider (its "change" event: end of
 * a drag, or each arrow key) or picking a choice sets `method_params` to a new dict holding
 * every parameter of the method, and saves. Hidden when the method has no parameters.
 */
export function createMethodParams(doc: Document, model: WidgetModel, subs: Subscriptions): HTMLElement {
  const element = createElement(doc, "div", { className: "xai-params" });
  /** Per parameter name: show a value coming from the model. */
  let showers = new Map<string, (value: ParamValue) => void>();
  /** DOM listeners of the controls on screen (replaced when the method changes). */
  let controlListeners: Array<() => void> = [];

  function method(): MethodInfo | undefined {
    return findMethod(model.get("methods"), model.get("method") ?? "");
  }

  function commit(name: string, value: ParamValue): void {
    const next = { ...paramValues(method(), model.get("method_params")), [name]: value };
    if (sameParams(model.get("method_params"), next)) return;
    model.set("method_params", next);
    model.save_changes();
  }

  function listen(target: EventTarget, type: string, handler: () => void): void {
    target.addEventListener(type, handler);
    controlListeners.push(() => target.removeEventListener(type, handler));
  }

  function sliderRow(param: ParamInfo): HTMLElement {
    const { min, max, step } = sliderRange(param);
    const caption = param.label || param.name;
    const slider = createElement(doc, "input", {
      className: "xai-param-slider",
      attrs: {
        type: "range",
        min: String(min),
        max: String(max),
        step: String(step),
        "aria-label": caption,
        "data-lm-suppress-shortcuts": "true",
      },
    });
    const text = createElement(doc, "span", { className: "xai-value" });
    const show = (value: ParamValue) => {
      slider.value = String(value);
      text.textContent = formatParamValue(param, value);
    };
    listen(slider, "input", () => (text.textContent = formatParamValue(param, snapParam(param, slider.value))));
    listen(slider, "change", () => commit(param.name, snapParam(param, slider.value)));
    showers.set(param.name, show);
    return controlRow(doc, caption, createElement(doc, "div", { className: "xai-inline" }, [slider, text]));
  }

  function choiceRow(param: ParamInfo): HTMLElement {
    const caption = param.label || param.name;
    const select = createElement(doc, "select", { className: "xai-param-select", attrs: { "aria-label": caption } });
    const choices = (param.choices ?? []).map(String);
    setOptions(select, choices.map((choice): [string, string] => [choice, choice]), String(param.default));
    listen(select, "change", () => commit(param.name, select.value));
    showers.set(param.name, (value) => (select.value = String(value)));
    return controlRow(doc, caption, select);
  }

  /** Rebuild the controls for the current method. */
  function render(): void {
    for (const remove of controlListeners.splice(0)) remove();
    showers = new Map();
    const params = methodParams(method());
    element.replaceChildren(
      ...params.map((param) => {
        const row = isChoiceParam(param) ? choiceRow(param) : sliderRow(param);
        row.classList.add("xai-param");
        row.setAttribute("data-param", param.name);
        return row;
      }),
    );
    element.hidden = params.length === 0;
    showValues();
  }

  /** Show the model's values in the controls (in place, so focus and drags survive). */
  function showValues(): void {
    const values = paramValues(method(), model.get("method_params"));
    for (const [name, show] of showers) show(values[name]);
  }

  subs.model(model, "change:methods", render);
  subs.model(model, "change:method", render);
  subs.model(model, "change:method_params", showValues);
  subs.add(() => controlListeners.splice(0).forEach((remove) => remove()));
  render();
  return element;
}
