import { createElement } from "./dom";
import { sameKey } from "./state";
import type { ViewKey, WidgetModel } from "./types";

/** The kernel's `faithfulness` trait: a check of one map (its `key`). */
export interface FaithCheck {
  key?: ViewKey;
  running?: boolean;
  error?: string;
  fractions?: number[];
  curves?: Record<string, number[]>;
  auc?: Record<string, number>;
  baseline?: string;
  metrics?: Record<string, number>;
}

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 220;
const HEIGHT = 110;
const PAD = 4;

/** SVG path data of scores (0–1) over fractions (0–1) in a WIDTH×HEIGHT box. */
export function curvePath(fractions: readonly number[], scores: readonly number[]): string {
  const points = fractions.map((f, i) => {
    const x = PAD + Math.min(1, Math.max(0, f)) * (WIDTH - 2 * PAD);
    const y = HEIGHT - PAD - Math.min(1, Math.max(0, scores[i] ?? 0)) * (HEIGHT - 2 * PAD);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  return points.length ? `M${points.join("L")}` : "";
}

/** One line of text: each curve's area under it, the map's against the random map's. */
export function aucText(auc: Record<string, number> | undefined): string {
  if (!auc) return "";
  const f = (name: string) => (name in auc ? Number(auc[name]).toFixed(3) : "–");
  return `deletion AUC ${f("deletion")} (random ${f("random_deletion")}, lower is better) · insertion AUC ${f("insertion")} (random ${f("random_insertion")}, higher is better)`;
}

/** The other numbers of a check (ROAD, sensitivity, random logit), one phrase each; `labels` name the other class. */
export function metricsText(metrics: Record<string, number> | undefined, labels: readonly string[] = []): string[] {
  if (!metrics) return [];
  const f = (name: string) => Number(metrics[name]).toFixed(3);
  const lines: string[] = [];
  if ("road_most" in metrics) {
    lines.push(
      `ROAD, most relevant removed first ${f("road_most")} (random ${f("random_road_most")}, lower is better) · ` +
        `least relevant first ${f("road_least")} (random ${f("random_road_least")}, higher is better)`,
    );
  }
  if ("max_sensitivity" in metrics) {
    lines.push(`sensitivity to 2 % noise: max ${f("max_sensitivity")}, mean ${f("average_sensitivity")} (lower is steadier)`);
  }
  if ("random_logit_ssim" in metrics) {
    const other = Number(metrics.other_class);
    const name = labels[other] !== undefined ? `“${labels[other]}”` : `class ${other}`;
    lines.push(`map for ${name} instead: SSIM ${f("random_logit_ssim")} with this one (lower: the map depends on the class)`);
  }
  return lines;
}

/** The check for the key on screen, or null (none, or one made for another map). */
export function checkFor<T extends { key?: ViewKey } = FaithCheck>(check: T | null | undefined, shown: ViewKey | null): T | null {
  if (!check || !check.key || !shown) return null;
  return sameKey(check.key, shown) ? check : null;
}

/** A button that asks the kernel for a check: each click increments the counter trait `request`. */
export function requestButton(doc: Document, model: WidgetModel, request: string, className: string, text: string, title = ""): HTMLButtonElement {
  const button = createElement(doc, "button", { className, text, attrs: title ? { type: "button", title } : { type: "button" } });
  button.addEventListener("click", () => {
    model.set(request, Number(model.get(request) ?? 0) + 1);
    model.save_changes();
  });
  return button;
}

/** An empty plot box (WIDTH×HEIGHT) for curves drawn with `curvePath`. */
export function plotBox(doc: Document, className: string, label: string): SVGSVGElement {
  const svg = doc.createElementNS(SVG, "svg");
  svg.setAttribute("class", className);
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute("width", String(WIDTH));
  svg.setAttribute("height", String(HEIGHT));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  return svg;
}

/** Clear a plot box and draw one curve a series (scores 0–1 over fractions 0–1) in a frame. */
export function drawCurves(doc: Document, svg: SVGSVGElement, fractions: readonly number[], series: Record<string, readonly number[]>, classPrefix: string): void {
  svg.replaceChildren();
  const frame = doc.createElementNS(SVG, "rect");
  for (const [name, value] of Object.entries({ x: PAD, y: PAD, width: WIDTH - 2 * PAD, height: HEIGHT - 2 * PAD })) {
    frame.setAttribute(name, String(value));
  }
  frame.setAttribute("class", "xai-faith-frame");
  svg.append(frame);
  for (const [name, scores] of Object.entries(series)) {
    const path = doc.createElementNS(SVG, "path");
    path.setAttribute("d", curvePath(fractions, scores));
    path.setAttribute("class", `xai-faith-curve ${classPrefix}${name.replace("_", "-")}`);
    path.setAttribute("data-curve", name);
    svg.append(path);
  }
}

/** A "Check this map" button and, once the kernel answers, the curves and their areas. */
export interface FaithPanel {
  element: HTMLElement;
  show(check: FaithCheck | null): void;
}

export function createFaithPanel(doc: Document, model: WidgetModel): FaithPanel {
  const button = requestButton(doc, model, "check_request", "xai-faith-run", "Check this map");
  const status = createElement(doc, "span", { className: "xai-faith-status", attrs: { role: "status" } });
  const svg = plotBox(doc, "xai-faith-plot", "deletion and insertion curves");
  const auc = createElement(doc, "div", { className: "xai-faith-auc" });
  const metrics = createElement(doc, "div", { className: "xai-faith-metrics" });
  const key = createElement(doc, "div", { className: "xai-faith-key" }, [
    createElement(doc, "span", { className: "xai-faith-key-deletion", text: "━ deletion" }),
    createElement(doc, "span", { className: "xai-faith-key-insertion", text: "━ insertion" }),
    createElement(doc, "span", { text: "┅ random map" }),
  ]);
  const element = createElement(doc, "div", { className: "xai-faith" }, [
    createElement(doc, "div", { className: "xai-inline" }, [button, status]),
    svg as unknown as HTMLElement,
    key,
    auc,
    metrics,
  ]);
  function draw(check: FaithCheck): void {
    drawCurves(doc, svg, check.fractions ?? [], check.curves ?? {}, "xai-faith-");
  }

  return {
    element,
    show(check) {
      const done = Boolean(check && check.curves && !check.running && !check.error);
      status.textContent = check?.running ? "checking…" : check?.error ? String(check.error) : "";
      (svg as unknown as HTMLElement).style.display = done ? "" : "none";
      auc.textContent = done ? aucText(check!.auc) : "";
      const labels = model.get("labels");
      metrics.replaceChildren(
        ...(done ? metricsText(check!.metrics, Array.isArray(labels) ? labels.map(String) : []) : []).map((line) =>
          createElement(doc, "div", { text: line }),
        ),
      );
      key.hidden = !done;
      button.disabled = Boolean(check?.running);
      if (done) draw(check!);
    },
  };
}
