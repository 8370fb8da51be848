import type { WidgetModel } from "./types";

/** The anywidget entry point of a widget whose `mount(model, host)` returns its cleanup. */
export function widgetEntry(mount: (model: WidgetModel, host: HTMLElement) => () => void) {
  return {
    render({ model, el }: { model: WidgetModel; el: HTMLElement }) {
      return mount(model, el);
    },
  };
}
