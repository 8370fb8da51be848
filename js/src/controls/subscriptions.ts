import type { WidgetModel } from "../types";

type Handler = (...args: any[]) => void;

/** Collects model and DOM listeners so that one `dispose()` removes them all. */
export class Subscriptions {
  private readonly removers: Array<() => void> = [];

  /** Listen to a model event, e.g. "change:layer". */
  model(model: WidgetModel, event: string, handler: Handler): void {
    model.on(event, handler);
    this.removers.push(() => model.off(event, handler));
  }

  /** Listen to a DOM event. */
  dom(target: EventTarget, type: string, handler: (event: Event) => void): void {
    target.addEventListener(type, handler);
    this.removers.push(() => target.removeEventListener(type, handler));
  }

  /** Run `remove` on dispose (for listeners managed elsewhere). */
  add(remove: () => void): void {
    this.removers.push(remove);
  }

  /** Remove every listener added so far. */
  dispose(): void {
    for (const remove of this.removers.splice(0)) remove();
  }
}

/** Write a shared control (model.set + save_changes), skipping values that are already set. */
export function setShared(model: WidgetModel, name: string, value: unknown): void {
  if (model.get(name) === value) return;
  model.set(name, value);
  model.save_changes();
}
