import { createElement } from "../dom";
import { formatPercent } from "../format";
import type { TopClass, WidgetModel } from "../types";
import type { Subscriptions } from "./subscriptions";
import { chooseClass } from "./targetControl";

/** The top-5 list: one button per class (label, probability, bar); clicking sets `target`. */
export function createTopClasses(doc: Document, model: WidgetModel, subs: Subscriptions): HTMLElement {
  const list = createElement(doc, "div", { className: "xai-top", attrs: { role: "list" } });

  function render(): void {
    const classes: TopClass[] = model.get("top_classes") ?? [];
    const target = model.get("target");
    list.replaceChildren(
      ...classes.map((entry) => {
        const selected = entry.index === target;
        const bar = createElement(doc, "span", { className: "xai-top-bar" });
        bar.style.width = `${Math.max(0, Math.min(1, entry.prob)) * 100}%`;
        const button = createElement(
          doc,
          "button",
          {
            className: selected ? "xai-top-item xai-selected" : "xai-top-item",
            attrs: { type: "button", role: "listitem", "aria-pressed": String(selected), "data-index": String(entry.index) },
          },
          [
            createElement(doc, "span", { className: "xai-top-label", text: entry.label }),
            createElement(doc, "span", { className: "xai-top-prob", text: formatPercent(entry.prob) }),
            createElement(doc, "span", { className: "xai-top-track" }, [bar]),
          ],
        );
        button.title = `class ${entry.index}: ${entry.label}`;
        button.addEventListener("click", () => chooseClass(model, entry.index));
        return button;
      }),
    );
  }

  subs.model(model, "change:top_classes", render);
  subs.model(model, "change:target", render);
  render();
  return list;
}
