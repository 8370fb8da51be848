import type { LayerInfo } from "./types";

/** "name  C×H×W" for the layer list (two spaces before the shape). */
export function formatLayer(layer: LayerInfo): string {
  const shape = Array.isArray(layer.shape) && layer.shape.length > 0 ? layer.shape.join("×") : "?";
  return `${layer.name}  ${shape}`;
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
