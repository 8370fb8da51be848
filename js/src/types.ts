/** Trait shapes shared with the kernel; see docs/protocol.md. */

/** A candidate layer: name and [C, H, W] shape of its activation. */
export interface LayerInfo {
  name: string;
  shape: number[];
}

/** One entry of the method catalogue. */
export interface MethodInfo {
  name: string;
  label: string;
  signed: boolean;
  uses_layer: boolean;
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
