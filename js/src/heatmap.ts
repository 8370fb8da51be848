import { blendPixels, opaquePhoto } from "./blend";
import { chooseColormap, colorize } from "./colormap";
import { decodeMap } from "./decode";
import { normalizeMap } from "./normalize";
import type { Binary, DisplayOptions, Normalization, Pixels } from "./types";
import { upsampleBilinear } from "./upsample";

/** Anything that carries a float32 map: an Explorer `result`, a Compare cell. */
export interface MapSource {
  shape?: number[];
  data?: Binary | null;
  signed?: boolean;
}

/** A map upsampled to the photo size, with its normalised versions computed on demand. */
export interface PreparedMap {
  /** Raw values at photo size (row-major). */
  values: Float32Array;
  signed: boolean;
  /** Cache of `normalizedMap` results by mode (filled lazily). */
  normalized: Partial<Record<Normalization, Float32Array>>;
}

/** Decode a float32 map and upsample it to width×height. Throws a readable Error on bad data. */
export function prepareMap(source: MapSource, width: number, height: number): PreparedMap {
  const values = decodeMap(source.data, source.shape);
  const [h, w] = source.shape as number[];
  const upsampled = h === height && w === width ? values : upsampleBilinear(values, h, w, height, width);
  return { values: upsampled, signed: source.signed === true, normalized: {} };
}

/** The map normalised to [0, 1] under `mode` (computed once per mode, then cached). */
export function normalizedMap(map: PreparedMap, mode: Normalization): Float32Array {
  let out = map.normalized[mode];
  if (!out) {
    out = normalizeMap(map.values, map.signed, mode);
    map.normalized[mode] = out;
  }
  return out;
}

/** What the colour scale under a picture shows: the colormap used and the values at its ends. */
export interface Legend {
  colormap: string;
  low: number;
  high: number;
  signed: boolean;
}

/** A finished frame for a canvas, a note when the colormap had to be replaced, and its scale. */
export interface Frame {
  pixels: Pixels;
  note: string;
  legend: Legend | null;
}

/** The value range the colour scale spans: min..max, or −max|v|..+max|v| around 0 for signed maps. */
export function legendRange(values: Float32Array, signed: boolean): { low: number; high: number } {
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < low) low = v;
    if (v > high) high = v;
  }
  if (low > high) return { low: 0, high: 0 };
  if (signed) {
    const extent = Math.max(Math.abs(low), Math.abs(high));
    return { low: -extent, high: extent };
  }
  return { low, high };
}

/**
 * Per-pixel opacity weights of a signed map: sqrt|2n − 1| for n normalised around 0.5, so zero
 * is fully transparent, the extremes take the full opacity, and mid values stay visible.
 */
export function magnitudeWeights(normalized: Float32Array): Float32Array {
  const out = new Float32Array(normalized.length);
  for (let i = 0; i < normalized.length; i++) out[i] = Math.sqrt(Math.min(1, Math.abs(2 * normalized[i] - 1)));
  return out;
}

/**
 * The photo with the map (if any) normalised, coloured and blended over it. Signed maps get a
 * diverging colormap (`chooseColormap`), in the Explorer and in every Compare cell alike.
 */
export function composeFrame(photo: Pixels, map: PreparedMap | null, display: DisplayOptions): Frame {
  if (!map) return { pixels: { ...photo, data: opaquePhoto(photo.data) }, note: "", legend: null };
  const choice = chooseColormap(display.colormap, map.signed);
  const normalized = normalizedMap(map, display.normalization);
  const heat = colorize(normalized, choice.name);
  // signed maps fade to the photo where the attribution is zero: |value| sets the opacity
  const weights = map.signed ? magnitudeWeights(normalized) : undefined;
  const range = legendRange(map.values, map.signed);
  const legend = { colormap: choice.name, signed: map.signed, ...range };
  if (display.view === "side_by_side") {
    // the photo, a gap, and the map alone (fully opaque), so neither hides the other
    return { pixels: sideBySide(photo, heat), note: choice.note, legend };
  }
  return {
    pixels: { ...photo, data: blendPixels(photo.data, heat, display.opacity, weights) },
    note: choice.note,
    legend,
  };
}

/** Photo (left) and heat (right) in one frame, with a gap of 1/16 of the width between them. */
export function sideBySide(photo: Pixels, heat: Uint8ClampedArray): Pixels {
  const gap = Math.max(1, Math.round(photo.width / 16));
  const width = photo.width * 2 + gap;
  const data = new Uint8ClampedArray(width * photo.height * 4);
  for (let y = 0; y < photo.height; y++) {
    const row = y * photo.width * 4;
    data.set(opaquePhoto(photo.data.subarray(row, row + photo.width * 4)), y * width * 4);
    data.set(heat.subarray(row, row + photo.width * 4), (y * width + photo.width + gap) * 4);
  }
  return { width, height: photo.height, data };
}
