import { createElement } from "./dom";
import type { WidgetModel } from "./types";

/** The "Copy code" button: the headless calls of the map on screen (`code` trait), copied to the
 * clipboard and shown below it (where the clipboard is not allowed, select and copy them there). */
export interface CodePanel {
  element: HTMLElement;
  /** Show the current `code` (empty: the button is disabled). */
  show(): void;
}

export function createCodePanel(doc: Document, model: WidgetModel): CodePanel {
  const button = createElement(doc, "button", { className: "xai-copy-code", text: "Copy code", attrs: { type: "button" } });
  const status = createElement(doc, "span", { className: "xai-copy-status", attrs: { "aria-live": "polite" } });
  const pre = createElement(doc, "pre", { className: "xai-code" });
  const details = createElement(doc, "details", { className: "xai-code-details" }, [
    createElement(doc, "summary", { text: "Code for this map" }),
    pre,
  ]);
  const element = createElement(doc, "div", { className: "xai-code-panel" }, [
    createElement(doc, "div", { className: "xai-inline" }, [button, status]),
    details,
  ]);

  const code = (): string => String(model.get("code") ?? "");

  button.addEventListener("click", () => {
    const text = code();
    details.open = true;
    const clipboard = doc.defaultView?.navigator?.clipboard;
    if (!clipboard) {
      status.textContent = "select the code below and copy it";
      return;
    }
    clipboard.writeText(text).then(
      () => {
        status.textContent = "copied";
        button.setAttribute("data-copied", text);
      },
      () => (status.textContent = "select the code below and copy it"),
    );
  });

  return {
    element,
    show() {
      const text = code();
      if (pre.textContent !== text) {
        pre.textContent = text;
        status.textContent = "";
      }
      button.disabled = text === "";
    },
  };
}
