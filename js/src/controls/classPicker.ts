import { parseClassQuery } from "../classQuery";
import { createElement } from "../dom";
import { formatClass } from "../format";
import type { WidgetModel } from "../types";
import type { Subscriptions } from "./subscriptions";
import { chooseClass } from "./targetControl";

let pickerCount = 0;

/** "Any class" picker: a text input with a datalist of every label; Enter or change sets `target`. */
export function createClassPicker(doc: Document, model: WidgetModel, subs: Subscriptions): HTMLElement {
  const listId = `xai-classes-${++pickerCount}`;
  const datalist = createElement(doc, "datalist", { attrs: { id: listId } });
  const input = createElement(doc, "input", {
    className: "xai-class-input",
    attrs: { type: "text", list: listId, placeholder: "class index or name", "aria-label": "class", spellcheck: "false" },
  });
  const message = createElement(doc, "span", { className: "xai-inline-message", attrs: { "aria-live": "polite" } });

  function labels(): string[] {
    return model.get("labels") ?? [];
  }

  function renderLabels(): void {
    datalist.replaceChildren(
      ...labels().map((label, index) => {
        const option = createElement(doc, "option");
        option.value = formatClass(index, label);
        return option;
      }),
    );
    showTarget();
  }

  /** Show the current target in the input, unless the user is typing in it. */
  function showTarget(): void {
    if (doc.activeElement === input) return;
    const target = model.get("target");
    input.value = typeof target === "number" ? formatClass(target, labels()[target]) : "";
  }

  function commit(): void {
    const query = parseClassQuery(input.value, labels());
    if (!query.ok) {
      message.textContent = query.message;
      return;
    }
    message.textContent = "";
    input.value = formatClass(query.index, labels()[query.index]);
    chooseClass(model, query.index);
  }

  subs.dom(input, "keydown", (event) => {
    if ((event as KeyboardEvent).key === "Enter") {
      event.preventDefault();
      commit();
    }
  });
  subs.dom(input, "change", commit);
  subs.dom(input, "input", () => (message.textContent = ""));
  subs.model(model, "change:labels", renderLabels);
  subs.model(model, "change:target", () => {
    message.textContent = "";
    showTarget();
  });
  renderLabels();
  return createElement(doc, "div", { className: "xai-class-picker" }, [input, datalist, message]);
}
