/** Trait shapes shared with the kernel; see docs/protocol.md. */

/**
 * A candidate layer: name and [C, H, W] shape of its map view; `tokens` describes a
 * transformer layer's sequence (e.g. "1 prefix + 14×14 patch tokens").
 */
export interface LayerInfo {
  name: string;
  shape: number[];
  tokens?: string;
}

/** A value of a method parameter (numbers for sliders, strings for choices). */
export type ParamValue = number | string;

/** The `method_params` trait: parameter name → value (a flat dict). */
export type ParamValues = Record<string, ParamValue>;

/** One parameter of a method: a slider from `min` to `max` by `step`, or a select of `choices`. */
export interface ParamInfo {
  name: string;
  label?: string;
  default: ParamValue;
  min?: number | null;
  max?: number | null;
  step?: number | null;
  choices?: string[] | null;
}

/** One entry of the method catalogue (fields after `uses_layer` may be absent from older kernels). */
export interface MethodInfo {
  name: string;
  label: string;
  signed: boolean;
  uses_layer: boolean;
  uses_target?: boolean;
  slow?: boolean;
  params?: ParamInfo[];
}

/** One of the top-5 predictions. */
export interface TopClass {
  index: number;
  label: string;
  prob: number;
}

/** The controls that select a map: the "wanted key" of the drawing rule. */
export interface ViewKey {
  image_index: number;
  layer: string;
  method: string;
  target: number;
  /** What `target` names beyond a class's logit: `{kind, ...}` (absent or null counts as `{}`). */
  target_spec?: ParamValues | null;
  /** An adversarial push of the image: `{epsilon, steps, toward?}` (absent or null counts as `{}`). */
  push?: ParamValues | null;
  /** `method_params` (absent or null counts as `{}`). */
  params?: ParamValues | null;
}

/** Raw bytes as they reach the browser (DataView) or a test (ArrayBuffer, typed array). */
export type Binary = DataView | ArrayBuffer | ArrayBufferView;

/** The `result` trait: one attribution map, or an error. */
export interface AttributionResult {
  seq: number;
  key: ViewKey;
  shape?: number[];
  data?: Binary | null;
  signed?: boolean;
  error?: string | null;
  /** Why a map shows nothing (all zero, constant), from the kernel; drawn as a note. */
  warning?: string | null;
  /** What the map explains, in words. */
  explains?: string;
  /** The kernel's time for this map. */
  compute_ms?: number;
  /** Painted from the browser's cache of maps sent ahead (set by the browser, never by the kernel). */
  cached?: boolean;
}

/** The `progress` trait while a slow method runs (`{}` when nothing runs). */
export interface ProgressInfo {
  key?: ViewKey;
  done?: number;
  total?: number;
}

/** How map values are scaled to [0, 1] (the `normalization` trait). */
export type Normalization = "auto" | "minmax" | "absmax" | "percentile";

/** How maps are painted; front-end only state (never saved). */
export type ViewMode = "overlay" | "side_by_side";

export interface DisplayOptions {
  opacity: number;
  colormap: string;
  normalization: Normalization;
  /** `side_by_side`: the photo, then the map alone beside it (tiny images stay readable). */
  view?: ViewMode;
}

/** One cell of the Compare widget (`data`/`shape` absent when `error` is set). */
export interface CompareCell {
  title: string;
  method?: string;
  layer?: string;
  target?: number;
  shape?: number[];
  data?: Binary | null;
  signed?: boolean;
  error?: string | null;
  /** Why a map shows nothing (all zero, constant), from the kernel; drawn as a note. */
  warning?: string | null;
}

/** An RGBA image in memory (same layout as ImageData, without needing a DOM). */
export interface Pixels {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** The part of the anywidget model interface this front end uses. */
export interface WidgetModel {
  get(name: string): any;
  set(name: string, value: unknown): void;
  save_changes(): void;
  on(event: string, callback: (...args: any[]) => void): void;
  off(event?: string | null, callback?: ((...args: any[]) => void) | null): void;
}

/** One thumbnail of the Gallery: its own photo, its map and its prediction. */
export interface GalleryTile extends CompareCell {
  index: number;
  name: string;
  photo: Binary;
  predicted: number;
  true: number | null;
  confidence: number;
  correct: boolean | null;
  outside?: number;
  deletion?: number;
}

/** A choice of the Gallery's filter or sort select. */
export interface Choice {
  value: string;
  label: string;
}
