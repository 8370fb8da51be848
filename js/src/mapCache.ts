import { copyBytes } from "./decode";
import { findMethod, paramValues } from "./params";
import { keyToJson } from "./state";
import type { AttributionResult, Binary, MethodInfo, ViewKey } from "./types";

/** A map the browser can paint without asking the kernel, with the code that gives it. */
export interface CachedMap {
  result: AttributionResult;
  code: string;
}

/** One map of a prefetch message: where its uint8 values sit in the buffer and how to read them. */
export interface PrefetchEntry {
  key: ViewKey;
  shape: [number, number];
  offset: number;
  low: number;
  step: number;
  signed?: boolean;
  warning?: string | null;
  explains?: string;
  code?: string;
}

/** The kernel's account of the current image's prefetch so far. */
export interface PrefetchStatus {
  epoch: number;
  maps: number;
  bytes: number;
  messages: number;
  ms: number;
  complete: boolean;
  stopped: string;
}

/** A `msg:custom` from the Explorer's kernel side about maps sent ahead. */
export type PrefetchMessage =
  | { kind: "prefetch"; entries: PrefetchEntry[]; status: PrefetchStatus }
  | { kind: "prefetch_reset"; epoch: number };

/** How many maps the browser keeps (56×56 float32 maps: under 7 MB). */
export const CACHE_MAPS = 512;

/**
 * A key with every parameter of its method spelt out (defaults filled in, others' dropped), as
 * the kernel's maps sent ahead are keyed: `{}` and `{smooth: "none"}` name the same Grad-CAM.
 * A method not in the catalogue keeps its parameters as they are.
 */
export function canonicalKey(key: ViewKey, methods: readonly MethodInfo[] | null | undefined): ViewKey {
  const method = findMethod(methods, key.method);
  return method ? { ...key, params: paramValues(method, key.params) } : key;
}

/** A bounded cache of maps keyed like the drawing rule's key; the least recently used go first. */
export class MapCache {
  private readonly entries = new Map<string, CachedMap>();

  /** `normalize` maps a key to the form it is stored under (e.g. {@link canonicalKey}). */
  constructor(
    readonly limit: number = CACHE_MAPS,
    private readonly normalize: (key: ViewKey) => ViewKey = (key) => key,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: ViewKey): CachedMap | undefined {
    const id = keyToJson(this.normalize(key));
    const found = this.entries.get(id);
    if (found) {
      this.entries.delete(id);
      this.entries.set(id, found);
    }
    return found;
  }

  put(key: ViewKey, entry: CachedMap): void {
    const id = keyToJson(this.normalize(key));
    this.entries.delete(id);
    this.entries.set(id, entry);
    while (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value as string);
  }

  /**
   * Keep `entry` unless a map for `key` is already kept: a map sent ahead (uint8, within 1/510
   * of its range) never replaces the kernel's exact float32 map of the same view.
   */
  offer(key: ViewKey, entry: CachedMap): void {
    if (!this.entries.has(keyToJson(this.normalize(key)))) this.put(key, entry);
  }

  clear(): void {
    this.entries.clear();
  }
}

/** The h×w float32 values of a quantised map: `low + q * step` for each uint8 `q`. */
export function dequantize(bytes: Uint8Array, offset: number, shape: readonly number[], low: number, step: number): Float32Array {
  const [h, w] = shape;
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) throw new Error(`bad map shape ${JSON.stringify(shape)}`);
  if (offset < 0 || offset + h * w > bytes.byteLength) {
    throw new Error(`map of ${h}×${w} at ${offset} lies outside the ${bytes.byteLength}-byte buffer`);
  }
  const values = new Float32Array(h * w);
  for (let i = 0; i < values.length; i++) values[i] = low + step * bytes[offset + i];
  return values;
}

/** The maps of a prefetch message as cache entries (results that say they came from the cache). */
export function prefetchedMaps(entries: readonly PrefetchEntry[], buffer: Binary | undefined): Array<[ViewKey, CachedMap]> {
  if (!buffer) return [];
  const bytes = copyBytes(buffer);
  return entries.map((entry) => {
    const values = dequantize(bytes, entry.offset, entry.shape, entry.low, entry.step);
    const result: AttributionResult = {
      seq: -1,
      key: entry.key,
      shape: [...entry.shape],
      data: values,
      signed: entry.signed === true,
      warning: entry.warning ?? null,
      explains: entry.explains ?? "",
      error: null,
      compute_ms: 0,
      cached: true,
    };
    return [entry.key, { result, code: entry.code ?? "" }];
  });
}
