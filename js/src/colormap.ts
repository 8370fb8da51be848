import { COLORMAP_TABLES_BASE64, DIVERGING_COLORMAPS, SEQUENTIAL_COLORMAPS } from "./colormaps.generated";

export { DIVERGING_COLORMAPS, SEQUENTIAL_COLORMAPS };

/** Every colormap the widget can draw, sequential first. */
export const ALL_COLORMAPS: readonly string[] = [...SEQUENTIAL_COLORMAPS, ...DIVERGING_COLORMAPS];

/** Used for signed maps when the chosen colormap is not diverging. */
export const DEFAULT_DIVERGING = "coolwarm";
/** Used for unsigned maps when the chosen colormap is unknown. */
export const DEFAULT_SEQUENTIAL = "turbo";

const decodedTables = new Map<string, Uint8Array>();

/** Whether `name` is a colormap this widget knows. */
export function isKnownColormap(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(COLORMAP_TABLES_BASE64, name);
}

/** Whether `name` is a diverging (zero-centred) colormap. */
export function isDiverging(name: string): boolean {
  return (DIVERGING_COLORMAPS as readonly string[]).includes(name);
}

/** The 256×RGB lookup table (768 bytes) of a known colormap. */
export function colormapTable(name: string): Uint8Array {
  let table = decodedTables.get(name);
  if (!table) {
    if (!isKnownColormap(name)) throw new Error(`unknown colormap: ${name}`);
    const binary = atob(COLORMAP_TABLES_BASE64[name]);
    table = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) table[i] = binary.charCodeAt(i);
    decodedTables.set(name, table);
  }
  return table;
}

/** Table index of a value in [0, 1]: round(v × 255), clamped to 0..255; NaN gives 0. */
export function colormapIndex(value: number): number {
  if (!(value > 0)) return 0;
  return Math.min(255, Math.round(value * 255));
}

/** RGB of a value in [0, 1] under a colormap. */
export function lookupColor(name: string, value: number): [number, number, number] {
  const table = colormapTable(name);
  const i = colormapIndex(value) * 3;
  return [table[i], table[i + 1], table[i + 2]];
}

/** Colour a normalised map: returns RGBA pixels (alpha 255) of the same length × 4. */
export function colorize(normalized: Float32Array, name: string): Uint8ClampedArray {
  const table = colormapTable(name);
  const out = new Uint8ClampedArray(normalized.length * 4);
  for (let p = 0; p < normalized.length; p++) {
    const t = colormapIndex(normalized[p]) * 3;
    out[p * 4] = table[t];
    out[p * 4 + 1] = table[t + 1];
    out[p * 4 + 2] = table[t + 2];
    out[p * 4 + 3] = 255;
  }
  return out;
}

/** The colormap actually used for a map, and a note for the user when it differs from the choice. */
export interface ColormapChoice {
  name: string;
  note: string;
}

/**
 * Decide which colormap to draw with.
 * A signed map drawn with a sequential colormap would hide where zero is, so signed maps
 * always use a diverging colormap: the chosen one if it is diverging, else `coolwarm`
 * (with a note). Unsigned maps use whatever was chosen; an unknown name falls back to turbo.
 */
export function chooseColormap(chosen: string, signed: boolean): ColormapChoice {
  if (signed) {
    if (isDiverging(chosen)) return { name: chosen, note: "" };
    return { name: DEFAULT_DIVERGING, note: `signed map: shown with ${DEFAULT_DIVERGING} (0 = neutral)` };
  }
  if (isKnownColormap(chosen)) return { name: chosen, note: "" };
  return { name: DEFAULT_SEQUENTIAL, note: `unknown colormap "${chosen}": shown with ${DEFAULT_SEQUENTIAL}` };
}
