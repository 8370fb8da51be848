import { sameParams, sortedParams } from "./params";
import type { AttributionResult, ParamValues, ProgressInfo, ViewKey, WidgetModel } from "./types";

/** The widget's overall state, exposed as `data-state` on the root element. */
export type ViewState = "loading" | "busy" | "ready" | "error";

/** A params (or target_spec) value as a dict: anything that is not a plain object counts as `{}`. */
function asParams(value: unknown): ParamValues {
  return value && typeof value === "object" && !Array.isArray(value) ? { ...(value as ParamValues) } : {};
}

/** The wanted key: the shared controls (and `method_params`) as the model holds them now. */
export function keyOf(model: Pick<WidgetModel, "get">): ViewKey {
  return {
    image_index: Number(model.get("image_index")),
    layer: String(model.get("layer") ?? ""),
    method: String(model.get("method") ?? ""),
    target: Number(model.get("target")),
    target_spec: asParams(model.get("target_spec")),
    push: asParams(model.get("push")),
    params: asParams(model.get("method_params")),
  };
}

/**
 * Whether two keys select the same map (null/undefined never match). `params`, `target_spec`
 * and `push` compare by value, ignoring key order; a missing one counts as `{}`.
 */
export function sameKey(a: ViewKey | null | undefined, b: ViewKey | null | undefined): boolean {
  if (!a || !b) return false;
  return (
    a.image_index === b.image_index &&
    a.layer === b.layer &&
    a.method === b.method &&
    a.target === b.target &&
    sameParams(asParams(a.target_spec), asParams(b.target_spec)) &&
    sameParams(asParams(a.push), asParams(b.push)) &&
    sameParams(asParams(a.params), asParams(b.params))
  );
}

/** A key as JSON with a fixed field order and sorted params (the `data-drawn-key` attribute). */
export function keyToJson(key: ViewKey): string {
  return JSON.stringify({
    image_index: key.image_index,
    layer: key.layer,
    method: key.method,
    target: key.target,
    target_spec: sortedParams(asParams(key.target_spec)),
    push: sortedParams(asParams(key.push)),
    params: sortedParams(asParams(key.params)),
  });
}

/** Drawing rule: a result is drawn only when its key equals the wanted key. */
export function shouldDraw(result: AttributionResult | null | undefined, wanted: ViewKey): result is AttributionResult {
  return !!result && typeof result === "object" && sameKey(result.key, wanted);
}

/** What the canvas currently shows on top of the photo. */
export type Shown =
  | { kind: "none" }
  | { kind: "map"; key: ViewKey }
  | { kind: "error"; key: ViewKey | null };

/**
 * The root `data-state`:
 * - error: a front-end failure not tied to a key (a photo that cannot be decoded), or, once no
 *   photo is decoding, the wanted key's result is an error or its map could not be decoded
 *   (the photo, if any, stays visible);
 * - loading: no photo to show yet (first decode running, or the kernel sent none);
 * - busy: a new photo is decoding, or the map on screen is not the one the controls ask for;
 * - ready: the map on screen has the wanted key.
 */
export function viewState(hasPhoto: boolean, photoPending: boolean, shown: Shown, wanted: ViewKey): ViewState {
  if (shown.kind === "error" && shown.key === null) return "error";
  if (photoPending) return hasPhoto ? "busy" : "loading";
  if (shown.kind === "error" && sameKey(shown.key, wanted)) return "error";
  if (!hasPhoto) return "loading";
  if (shown.kind === "map" && sameKey(shown.key, wanted)) return "ready";
  return "busy";
}

/** Progress of the slow job computing the wanted map: `done` of `total` steps. */
export interface ProgressShown {
  done: number;
  total: number;
}

/**
 * What the progress bar shows: only in the busy state, only when `progress.key` is the wanted
 * key and `total` is a positive number; `done` is clamped to 0..total. Otherwise null (hidden).
 */
export function progressToShow(
  progress: ProgressInfo | null | undefined,
  wanted: ViewKey,
  state: ViewState,
): ProgressShown | null {
  if (state !== "busy" || !progress || typeof progress !== "object") return null;
  if (!sameKey(progress.key, wanted)) return null;
  const total = Number(progress.total);
  const done = Number(progress.done);
  if (!Number.isFinite(total) || total <= 0 || !Number.isFinite(done)) return null;
  return { done: Math.min(total, Math.max(0, done)), total };
}
