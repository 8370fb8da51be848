import type { LayerInfo } from "./types";

/** "name  C×H×W" for the layer list (two spaces before the shape), plus a token layer's layout. */
export function formatLayer(layer: LayerInfo): string {
  const shape = Array.isArray(layer.shape) && layer.shape.length > 0 ? layer.shape.join("×") : "?";
  const tokens = typeof layer.tokens === "string" && layer.tokens ? ` · ${layer.tokens}` : "";
  return `${layer.name}  ${shape}${tokens}`;
}

/** A probability in 0..1 as a percentage with one decimal, e.g. 0.3921 → "39.2%". */
export function formatPercent(prob: number): string {
  if (!Number.isFinite(prob)) return "–";
  return `${(prob * 100).toFixed(1)}%`;
}

/** "index: label", the form used by the class picker. */
export function formatClass(index: number, label: string | undefined): string {
  return label === undefined ? String(index) : `${index}: ${label}`;
}
