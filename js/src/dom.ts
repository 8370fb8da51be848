/** Options for `createElement`. Text always goes through textContent, never HTML. */
export interface ElementOptions {
  className?: string;
  text?: string;
  attrs?: Record<string, string>;
}

/** Create an element with a class, text and attributes, and append the given children. */
export function createElement<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  options: ElementOptions = {},
  children: Node[] = [],
): HTMLElementTagNameMap[K] {
  const element = doc.createElement(tag);
  if (options.className) element.className = options.className;
  if (options.text !== undefined) element.textContent = options.text;
  for (const [name, value] of Object.entries(options.attrs ?? {})) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

/** A labelled row of the control panel: a caption followed by the control(s). */
export function controlRow(doc: Document, caption: string, ...controls: Node[]): HTMLDivElement {
  return createElement(doc, "div", { className: "xai-row" }, [
    createElement(doc, "span", { className: "xai-caption", text: caption }),
    ...controls,
  ]);
}

/** Replace the options of a <select> with (value, text) pairs, keeping `selected` selected. */
export function setOptions(select: HTMLSelectElement, options: Array<[string, string]>, selected: string): void {
  const doc = select.ownerDocument;
  select.replaceChildren(
    ...options.map(([value, text]) => {
      const option = createElement(doc, "option", { text });
      option.value = value;
      return option;
    }),
  );
  select.value = selected;
}

/** The readable text of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
