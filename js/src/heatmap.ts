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

/** A finished frame for a canvas, and a note when the colormap had to be replaced. */
export interface Frame {
  pixels: Pixels;
  note: string;
}

/**
 * The photo with the map (if any) normalised, coloured and blended over it. Signed maps get a
 * diverging colormap (`chooseColormap`), in the Explorer and in every Compare cell alike.
 */
export function composeFrame(photo: Pixels, map: PreparedMap | null, display: DisplayOptions): Frame {
  if (!map) return { pixels: { ...photo, data: opaquePhoto(photo.data) }, note: "" };
  const choice = chooseColormap(display.colormap, map.signed);
  const heat = colorize(normalizedMap(map, display.normalization), choice.name);
  return { pixels: { ...photo, data: blendPixels(photo.data, heat, display.opacity) }, note: choice.note };
}
