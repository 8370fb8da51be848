import { chooseColormap, colorize } from "./colormap";
import { createElement } from "./dom";
import { drawCurves, plotBox, requestButton } from "./faithPlot";
import { prepareMap, normalizedMap, type MapSource } from "./heatmap";
import { paintCanvas } from "./paint";
import type { Binary, Normalization, ViewKey, WidgetModel } from "./types";

/** One layer of the cascade: the map's agreement with the original once it is randomised. */
export interface SanityStep {
  module: string;
  spearman: number;
  ssim: number;
}

/** A map shown beside the original (the original first), as the kernel sends it. */
export interface SanityMap {
  module: string;
  spearman: number;
  shape?: number[];
  data?: Binary | null;
}

/** The kernel's `sanity` trait: the sanity check of one map (its `key`). */
export interface SanityCheck {
  key?: ViewKey;
  running?: boolean;
  done?: number;
  total?: number;
  error?: string;
  steps?: SanityStep[];
  maps?: SanityMap[];
  signed?: boolean;
  survives?: boolean;
  verdict?: string;
}

/** The status line: progress while layers are randomised, the error, or nothing. */
export function sanityStatus(check: SanityCheck | null): string {
  if (!check) return "";
  if (check.running) {
    return check.total ? `randomising layer ${Math.min((check.done ?? 0) + 1, check.total)} of ${check.total}…` : "checking…";
  }
  return check.error ? String(check.error) : "";
}

/** A thumbnail's caption: the layer randomised down to (its last name part), and the rank correlation. */
export function sanityCaption(map: SanityMap): { layer: string; score: string } {
  if (map.module === "original") return { layer: "original", score: "" };
  const parts = map.module.split(".");
  const layer = parts.length > 2 ? `…${parts.slice(-2).join(".")}` : map.module;
  return { layer: `↓ ${layer}`, score: `ρ ${Number(map.spearman).toFixed(2)}` };
}

/** A map alone (no photo) coloured at its own resolution: CSS scales the canvas. */
export function mapPixels(source: MapSource, colormap: string, normalization: Normalization) {
  const [height, width] = source.shape as number[];
  const prepared = prepareMap(source, width, height);
  const name = chooseColormap(colormap, prepared.signed).name;
  return { width, height, data: colorize(normalizedMap(prepared, normalization), name) };
}

/** A "Sanity check" button and, once the kernel answers, the maps side by side and a verdict. */
export interface SanityPanel {
  element: HTMLElement;
  show(check: SanityCheck | null, colormap: string, normalization: Normalization): void;
}

export function createSanityPanel(doc: Document, model: WidgetModel): SanityPanel {
  const button = requestButton(
    doc,
    model,
    "sanity_request",
    "xai-sanity-run",
    "Sanity check",
    "Re-initialise the model's layers from the output down (on a copy) and compare the maps",
  );
  const status = createElement(doc, "span", { className: "xai-sanity-status", attrs: { role: "status" } });
  const verdict = createElement(doc, "div", { className: "xai-sanity-verdict" });
  const maps = createElement(doc, "div", { className: "xai-sanity-maps" });
  const plot = plotBox(doc, "xai-sanity-plot", "rank correlation and SSIM with the original, layer by layer");
  const key = createElement(doc, "div", { className: "xai-faith-key xai-sanity-key" }, [
    createElement(doc, "span", { className: "xai-sanity-key-spearman", text: "━ Spearman ρ" }),
    createElement(doc, "span", { className: "xai-sanity-key-ssim", text: "━ SSIM" }),
    createElement(doc, "span", { text: "(output → input)" }),
  ]);
  const element = createElement(doc, "div", { className: "xai-sanity" }, [
    createElement(doc, "div", { className: "xai-inline" }, [button, status]),
    verdict,
    plot as unknown as HTMLElement,
    key,
    maps,
  ]);

  function drawMaps(check: SanityCheck, colormap: string, normalization: Normalization): void {
    maps.replaceChildren();
    for (const map of check.maps ?? []) {
      const canvas = createElement(doc, "canvas", { className: "xai-sanity-map" });
      const words = sanityCaption(map);
      const caption = createElement(doc, "figcaption", {
        attrs: { title: map.module === "original" ? "the map of the trained model" : `re-initialised from the output down to ${map.module}` },
      }, [
        createElement(doc, "span", { className: "xai-sanity-layer", text: words.layer }),
        createElement(doc, "span", { text: words.score }),
      ]);
      maps.append(createElement(doc, "figure", { attrs: { "data-module": map.module } }, [canvas, caption]));
      paintCanvas(canvas, mapPixels({ ...map, signed: check.signed === true }, colormap, normalization));
    }
  }

  function drawPlot(cascade: SanityStep[]): void {
    const steps = [{ module: "original", spearman: 1, ssim: 1 }, ...cascade]; // the curves start from the trained map
    const fractions = steps.map((_, i) => i / (steps.length - 1));
    drawCurves(doc, plot, fractions, { spearman: steps.map((s) => s.spearman), ssim: steps.map((s) => s.ssim) }, "xai-sanity-");
  }

  let drawn: { check: SanityCheck | null; colormap: string; normalization: string } = {
    check: null,
    colormap: "",
    normalization: "",
  };

  return {
    element,
    show(check, colormap, normalization) {
      const done = Boolean(check && check.steps && !check.running && !check.error);
      status.textContent = sanityStatus(check);
      button.disabled = Boolean(check?.running);
      verdict.textContent = done ? String(check!.verdict ?? "") : "";
      verdict.classList.toggle("xai-sanity-failed", done && check!.survives === true);
      verdict.classList.toggle("xai-sanity-passed", done && check!.survives === false);
      (plot as unknown as HTMLElement).style.display = done ? "" : "none";
      maps.hidden = !done;
      key.hidden = !done;
      if (done && (check !== drawn.check || colormap !== drawn.colormap || normalization !== drawn.normalization)) {
        drawMaps(check!, colormap, normalization);
        drawPlot(check!.steps!);
        drawn = { check, colormap, normalization };
      }
    },
  };
}
