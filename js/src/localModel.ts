import type { WidgetModel } from "./types";

type Handler = (...args: any[]) => void;

/**
 * The widget model with a few traits that the browser may set for itself without telling the
 * kernel (a map painted from the cache shows its own `result` and `code`): `get` returns the
 * local value until the kernel next changes that trait; "change:<name>" listeners hear both.
 */
export interface LocalModel extends WidgetModel {
  /** Show `value` as `name` here only (listeners of "change:<name>" are called). */
  showLocally(name: string, value: unknown): void;
  /** Whether `name` currently shows a local value. */
  isLocal(name: string): boolean;
  /** Stop listening to the model. */
  dispose(): void;
}

export function withLocalValues(model: WidgetModel, names: readonly string[]): LocalModel {
  const local = new Map<string, unknown>();
  const listeners = new Map<string, Set<Handler>>();
  // Registered before anyone else's: the kernel's value replaces the local one before they hear of it.
  const clearers = names.map((name) => {
    const clear = () => local.delete(name);
    model.on(`change:${name}`, clear);
    return [name, clear] as const;
  });
  const isLocalEvent = (event: string) => event.startsWith("change:") && names.includes(event.slice(7));

  const wrapped: LocalModel = {
    get: (name) => (local.has(name) ? local.get(name) : model.get(name)),
    set: (name, value) => model.set(name, value),
    save_changes: () => model.save_changes(),
    on(event, callback) {
      model.on(event, callback);
      if (isLocalEvent(event)) {
        if (!listeners.has(event)) listeners.set(event, new Set());
        listeners.get(event)!.add(callback);
      }
    },
    off(event, callback) {
      model.off(event, callback);
      if (!event) listeners.clear();
      else if (!callback) listeners.delete(event);
      else listeners.get(event)?.delete(callback);
    },
    showLocally(name, value) {
      local.set(name, value);
      for (const handler of [...(listeners.get(`change:${name}`) ?? [])]) handler(wrapped, value);
    },
    isLocal: (name) => local.has(name),
    dispose() {
      for (const [name, clear] of clearers) model.off(`change:${name}`, clear);
      listeners.clear();
      local.clear();
    },
  };
  const send = (model as { send?: unknown }).send;
  if (typeof send === "function") (wrapped as unknown as { send: unknown }).send = send.bind(model);
  return wrapped;
}
