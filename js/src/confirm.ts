import { createElement } from "./dom";
import { sameKey } from "./state";
import type { ViewKey, WidgetModel } from "./types";

/** What the kernel asks before an expensive map (`pending_cost`), or {} when nothing waits. */
export interface PendingCost {
  key?: ViewKey;
  forwards?: number;
  seconds?: number;
  message?: string;
}

/** The question to show for the wanted key, or null (nothing waits, or it waits for another key). */
export function pendingFor(pending: PendingCost | null | undefined, wanted: ViewKey): PendingCost | null {
  if (!pending || typeof pending !== "object" || !pending.key) return null;
  return sameKey(pending.key, wanted) ? pending : null;
}

/** A line with the cost of a slow map and a Run button; Run sends `confirmed` = the pending key. */
export interface ConfirmView {
  element: HTMLElement;
  show(pending: PendingCost | null): void;
}

export function createConfirmView(doc: Document, model: WidgetModel): ConfirmView {
  const text = createElement(doc, "span", { className: "xai-confirm-text" });
  const run = createElement(doc, "button", { className: "xai-confirm-run", text: "Run", attrs: { type: "button" } });
  const element = createElement(doc, "div", { className: "xai-confirm", attrs: { role: "status" } }, [text, run]);
  element.hidden = true;
  let current: PendingCost | null = null;
  run.addEventListener("click", () => {
    if (!current?.key) return;
    model.set("confirmed", { ...current.key });
    model.save_changes();
  });
  return {
    element,
    show(pending) {
      current = pending;
      element.hidden = pending === null;
      text.textContent = pending ? String(pending.message ?? "This map is slow to compute. Run it?") : "";
    },
  };
}
