import { lookupColor } from "./colormap";
import { createElement } from "./dom";
import type { Legend } from "./heatmap";

/** A value on the colour scale: three significant digits, exponents for very small or large values. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return "–";
  if (value === 0) return "0";
  const size = Math.abs(value);
  return size >= 1e-2 && size < 1e4 ? String(Number(value.toPrecision(3))) : value.toExponential(1);
}

/** The CSS gradient of a colormap, from low to high, sampled at `stops` points. */
export function colormapGradient(name: string, stops = 9): string {
  const colors = Array.from({ length: stops }, (_, i) => {
    const [r, g, b] = lookupColor(name, i / (stops - 1));
    return `rgb(${r}, ${g}, ${b}) ${Math.round((100 * i) / (stops - 1))}%`;
  });
  return `linear-gradient(to right, ${colors.join(", ")})`;
}

/** The colour scale under a picture: a bar in the colormap used, the values at its ends (and 0). */
export interface LegendView {
  element: HTMLElement;
  show(legend: Legend | null): void;
}

export function createLegendView(doc: Document): LegendView {
  const bar = createElement(doc, "span", { className: "xai-legend-bar" });
  const low = createElement(doc, "span", { className: "xai-legend-low" });
  const zero = createElement(doc, "span", { className: "xai-legend-zero", text: "0" });
  const high = createElement(doc, "span", { className: "xai-legend-high" });
  const element = createElement(doc, "div", { className: "xai-legend", attrs: { "aria-label": "colour scale" } }, [
    low,
    createElement(doc, "span", { className: "xai-legend-track" }, [bar, zero]),
    high,
  ]);
  element.hidden = true;
  return {
    element,
    show(legend) {
      element.hidden = legend === null;
      if (!legend) return;
      bar.style.background = colormapGradient(legend.colormap);
      low.textContent = formatValue(legend.low);
      high.textContent = formatValue(legend.high);
      zero.hidden = !legend.signed;
      element.setAttribute("data-signed", String(legend.signed));
      element.setAttribute("data-colormap", legend.colormap);
      element.setAttribute("data-range", `${legend.low} ${legend.high}`);
      element.title = `${legend.colormap}: ${formatValue(legend.low)} to ${formatValue(legend.high)}`;
    },
  };
}
