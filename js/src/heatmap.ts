import { blendPixels, opaquePhoto } from "./blend";
import { chooseColormap, colorize } from "./colormap";
import { decodeMap } from "./decode";
import { normalizeMap } from "./normalize";
import type { AttributionResult, Pixels } from "./types";
import { upsampleBilinear } from "./upsample";

/** A result's map, upsampled to the photo size and normalised to [0, 1]. */
export interface PreparedMap {
  normalized: Float32Array;
  signed: boolean;
}

/** Decode a result's float32 map, upsample it to width×height and normalise it. Throws on bad data. */
export function prepareMap(result: AttributionResult, width: number, height: number): PreparedMap {
  const values = decodeMap(result.data, result.shape);
  const [h, w] = result.shape as number[];
  const upsampled = h === height && w === width ? values : upsampleBilinear(values, h, w, height, width);
  const signed = result.signed === true;
  return { normalized: normalizeMap(upsampled, signed), signed };
}

/** A finished frame for the canvas, and a note when the colormap had to be replaced. */
export interface Frame {
  pixels: Pixels;
  note: string;
}

/** The photo with the map (if any) coloured and blended over it at `opacity`. */
export function composeFrame(photo: Pixels, map: PreparedMap | null, opacity: number, colormap: string): Frame {
  if (!map) return { pixels: { ...photo, data: opaquePhoto(photo.data) }, note: "" };
  const choice = chooseColormap(colormap, map.signed);
  const heat = colorize(map.normalized, choice.name);
  return { pixels: { ...photo, data: blendPixels(photo.data, heat, opacity) }, note: choice.note };
}
