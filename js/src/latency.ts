import { createElement } from "./dom";

/** Where the last change's time went, in milliseconds. */
export interface Latency {
  /** From the control change to the map painted. */
  total: number;
  /** The kernel computing the map (the result's `compute_ms`). */
  kernel: number;
  /** Messages both ways and the kernel's queue: what is left. */
  transport: number;
  /** Upsampling, colouring, blending and drawing in the browser. */
  paint: number;
  /** Painted from the maps sent ahead: no kernel work waited on. */
  cached?: boolean;
}

/** Split a change's total time into kernel, paint and (the rest) transport. */
export function splitLatency(total: number, kernel: number, paint: number): Latency {
  const round = (value: number) => Math.round(value * 10) / 10;
  return { total: round(total), kernel: round(kernel), paint: round(paint), transport: round(Math.max(0, total - kernel - paint)) };
}

/** "56 ms: kernel 3 · transport 50 · paint 3", or "4 ms from the maps sent ahead: paint 3". */
export function describeLatency(latency: Latency): string {
  if (latency.cached) return `${latency.total} ms from the maps sent ahead: paint ${latency.paint}`;
  return `${latency.total} ms: kernel ${latency.kernel} · transport ${latency.transport} · paint ${latency.paint}`;
}

/** A "timings" toggle and the last change's split, shown on request. */
export interface LatencyView {
  element: HTMLElement;
  show(latency: Latency | null): void;
}

export function createLatencyView(doc: Document): LatencyView {
  const toggle = createElement(doc, "input", { className: "xai-latency-toggle", attrs: { type: "checkbox", "aria-label": "show timings" } });
  const text = createElement(doc, "span", { className: "xai-latency", attrs: { "aria-live": "polite" } });
  const label = createElement(doc, "label", { className: "xai-inline xai-latency-row" }, [toggle, createElement(doc, "span", { text: "timings" }), text]);
  let last: Latency | null = null;
  const render = () => {
    text.textContent = toggle.checked && last ? describeLatency(last) : "";
  };
  toggle.addEventListener("change", render);
  return {
    element: label,
    show(latency) {
      last = latency;
      render();
    },
  };
}
