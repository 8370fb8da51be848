import type { Normalization } from "./types";

/** The normalisation modes, with their labels for the select (value, text). */
export const NORMALIZATIONS: ReadonlyArray<readonly [Normalization, string]> = [
  ["auto", "auto"],
  ["minmax", "min-max"],
  ["absmax", "abs-max"],
  ["percentile", "99th percentile"],
];

/** The percentile that `"percentile"` clips at. */
export const CLIP_PERCENTILE = 99;

/** A trait value as a known mode; anything else is `"auto"`. */
export function toNormalization(value: unknown): Normalization {
  return NORMALIZATIONS.some(([mode]) => mode === value) ? (value as Normalization) : "auto";
}

/**
 * Map attribution values to [0, 1] for colouring.
 *
 * - `auto` (default): unsigned maps min-max (a constant map becomes all 0); signed maps
 *   divided by max |v| so that 0 maps to 0.5, -max to 0 and +max to 1 (all-zero → all 0.5).
 * - `minmax`: min-max for every map, signed ones too (0 is then not at 0.5).
 * - `absmax`: divided by max |v| for every map: signed maps as in auto; unsigned maps keep 0
 *   at 0 and max |v| at 1 (negative values clip to 0).
 * - `percentile`: as auto, but the top of the scale is the 99th percentile (of |v| for signed
 *   maps, of v for unsigned ones, between min and max) and larger values clip to 1 (or 0),
 *   so one hot pixel does not wash out the map. Falls back to the maximum when that
 *   percentile equals the bottom of the scale (a map that is > 99 % flat).
 *
 * Non-finite values (NaN, ±Infinity) are left out of every statistic and shown as a zero
 * attribution: 0 for unsigned scales, 0.5 for scales around 0.5.
 */
export function normalizeMap(values: Float32Array, signed: boolean, mode: Normalization = "auto"): Float32Array {
  switch (mode) {
    case "minmax":
      return minMax(values);
    case "absmax":
      return signed ? aroundHalf(values, maxAbs(values)) : linear(values, 0, maxAbs(values));
    case "percentile": {
      if (signed) {
        const top = percentile(finiteAbs(values), CLIP_PERCENTILE);
        return aroundHalf(values, top > 0 ? top : maxAbs(values));
      }
      const sorted = finiteSorted(values);
      if (sorted.length === 0) return linear(values, 0, 0);
      const low = sorted[0];
      const top = percentile(sorted, CLIP_PERCENTILE);
      return linear(values, low, top > low ? top : sorted[sorted.length - 1]);
    }
    default:
      return signed ? aroundHalf(values, maxAbs(values)) : minMax(values);
  }
}

/**
 * The q-th percentile (0..100) of ascending-sorted values, interpolating linearly between
 * neighbours like `numpy.percentile`'s default. NaN for no values.
 */
export function percentile(sorted: Float32Array | Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const position = (Math.min(100, Math.max(0, q)) / 100) * (n - 1);
  const below = Math.floor(position);
  const above = Math.min(n - 1, below + 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

function minMax(values: Float32Array): Float32Array {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return linear(values, min, max);
}

function maxAbs(values: Float32Array): number {
  let max = 0;
  for (const v of values) if (Number.isFinite(v)) max = Math.max(max, Math.abs(v));
  return max;
}

/** (v − low) / (high − low) clipped to [0, 1]; all 0 when high ≤ low. */
function linear(values: Float32Array, low: number, high: number): Float32Array {
  const out = new Float32Array(values.length);
  const range = high - low;
  if (!(range > 0)) return out;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = Number.isFinite(v) ? Math.min(1, Math.max(0, (v - low) / range)) : 0;
  }
  return out;
}

/** 0.5 + 0.5 · v / scale clipped to [0, 1]; all 0.5 when scale ≤ 0. */
function aroundHalf(values: Float32Array, scale: number): Float32Array {
  const out = new Float32Array(values.length).fill(0.5);
  if (!(scale > 0)) return out;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) out[i] = Math.min(1, Math.max(0, 0.5 + (0.5 * v) / scale));
  }
  return out;
}

function finiteSorted(values: Float32Array): Float32Array {
  return values.filter((v) => Number.isFinite(v)).sort();
}

function finiteAbs(values: Float32Array): Float32Array {
  return values.filter((v) => Number.isFinite(v)).map(Math.abs).sort();
}
