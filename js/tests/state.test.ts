import { describe, expect, it } from "vitest";
import { keyOf, keyToJson, progressToShow, sameKey, shouldDraw, viewState } from "../src/state";
import type { AttributionResult, ViewKey } from "../src/types";

const key: ViewKey = { image_index: 0, layer: "layer4", method: "gradcam", target: 281, target_spec: {}, push: {}, params: {} };
const modelWith = (values: Record<string, unknown>) => ({ get: (name: string) => values[name] });
const result = (k: ViewKey, extra: Partial<AttributionResult> = {}): AttributionResult => ({
  seq: 1,
  key: k,
  shape: [1, 1],
  data: new Uint8Array(4),
  signed: false,
  error: null,
  ...extra,
});

describe("keyOf / sameKey", () => {
  it("reads the four shared controls, target_spec and method_params", () => {
    expect(keyOf(modelWith({ ...key, opacity: 0.3, colormap: "jet" }))).toEqual(key);
    const params = { steps: 32, baseline: 0 };
    expect(keyOf(modelWith({ ...key, method_params: params })).params).toEqual(params);
    expect(keyOf(modelWith({ ...key, method_params: null })).params).toEqual({});
    const spec = { kind: "contrast", other: 3 };
    expect(keyOf(modelWith({ ...key, target_spec: spec })).target_spec).toEqual(spec);
    expect(keyOf(modelWith({ ...key, target_spec: null })).target_spec).toEqual({});
  });

  it("compares target_spec by value; an absent one is a class's logit ({})", () => {
    const contrast = { ...key, target_spec: { kind: "contrast", other: 3 } };
    expect(sameKey(contrast, { ...key, target_spec: { other: 3, kind: "contrast" } })).toBe(true);
    expect(sameKey(contrast, { ...key, target_spec: { kind: "contrast", other: 4 } })).toBe(false);
    expect(sameKey(contrast, key)).toBe(false);
    const { target_spec: _unused, ...plain } = key;
    expect(sameKey(plain, key)).toBe(true);
  });

  it("compares the push by value: another ε is another map", () => {
    const pushed = { ...key, push: { epsilon: 0.02, steps: 1 } };
    expect(sameKey(pushed, { ...key, push: { steps: 1, epsilon: 0.02 } })).toBe(true);
    expect(sameKey(pushed, { ...key, push: { epsilon: 0.03, steps: 1 } })).toBe(false);
    expect(sameKey(pushed, key)).toBe(false);
  });

  it("compares params by value, ignoring key order; absent params count as {}", () => {
    const a = { ...key, params: { steps: 32, baseline: 0.5 } };
    expect(sameKey(a, { ...key, params: { baseline: 0.5, steps: 32 } })).toBe(true);
    expect(sameKey(a, { ...key, params: { baseline: 0.5, steps: 33 } })).toBe(false);
    expect(sameKey(a, { ...key, params: { steps: 32 } })).toBe(false);
    expect(sameKey(a, key)).toBe(false);
    // A kernel without method parameters sends keys with no `params` at all.
    const { params: _unused, ...oldKey } = key;
    expect(sameKey(oldKey, key)).toBe(true);
    expect(sameKey(oldKey, { ...key, params: null })).toBe(true);
  });

  it("compares every field", () => {
    expect(sameKey(key, { ...key })).toBe(true);
    expect(sameKey(key, { ...key, image_index: 1 })).toBe(false);
    expect(sameKey(key, { ...key, layer: "layer3" })).toBe(false);
    expect(sameKey(key, { ...key, method: "saliency" })).toBe(false);
    expect(sameKey(key, { ...key, target: 282 })).toBe(false);
    expect(sameKey(key, null)).toBe(false);
  });

  it("writes the key as JSON in a fixed order, params sorted", () => {
    const shuffled = { params: { steps: 8, baseline: 0 }, target: 281, method: "ig", layer: "layer4", image_index: 0 };
    expect(keyToJson(shuffled)).toBe(
      '{"image_index":0,"layer":"layer4","method":"ig","target":281,"target_spec":{},"push":{},"params":{"baseline":0,"steps":8}}',
    );
    expect(keyToJson({ target: 1, method: "m", layer: "l", image_index: 2 })).toBe(
      '{"image_index":2,"layer":"l","method":"m","target":1,"target_spec":{},"push":{},"params":{}}',
    );
  });
});

describe("shouldDraw (drawing rule)", () => {
  it("draws only a result whose key equals the wanted key", () => {
    expect(shouldDraw(result(key), key)).toBe(true);
    expect(shouldDraw(result({ ...key, target: 1 }), key)).toBe(false);
    expect(shouldDraw(null, key)).toBe(false);
  });

  it("after fast moves, only the final state's result is drawn", () => {
    const wanted = { ...key, layer: "layer2" };
    const arrivals = ["layer4", "layer3", "layer2"].map((layer, i) => result({ ...key, layer }, { seq: i }));
    expect(arrivals.filter((r) => shouldDraw(r, wanted)).map((r) => r.seq)).toEqual([2]);
  });

  it("an error result for the wanted key is drawn (as an error)", () => {
    expect(shouldDraw(result(key, { error: "boom", data: undefined }), key)).toBe(true);
  });
});

describe("viewState", () => {
  it("is loading before a photo, busy while a photo decodes", () => {
    expect(viewState(false, true, { kind: "none" }, key)).toBe("loading");
    expect(viewState(true, true, { kind: "map", key }, key)).toBe("busy");
  });

  it("is ready only when the map on screen has the wanted key", () => {
    expect(viewState(true, false, { kind: "map", key }, key)).toBe("ready");
    expect(viewState(true, false, { kind: "map", key }, { ...key, target: 5 })).toBe("busy");
    expect(viewState(true, false, { kind: "none" }, key)).toBe("busy");
  });

  it("is error for the wanted key's error, busy once the controls move on", () => {
    expect(viewState(true, false, { kind: "error", key }, key)).toBe("error");
    expect(viewState(true, false, { kind: "error", key }, { ...key, method: "x" })).toBe("busy");
    expect(viewState(false, false, { kind: "error", key: null }, key)).toBe("error");
    // An image that could not be loaded: no photo, but the error is shown.
    expect(viewState(false, false, { kind: "error", key }, key)).toBe("error");
    expect(viewState(false, false, { kind: "none" }, key)).toBe("loading");
  });
});

describe("progressToShow", () => {
  const slow = { ...key, method: "ig", params: { steps: 64 } };
  const progress = { key: { ...slow, params: { steps: 64 } }, done: 12, total: 64 };

  it("shows done/total while busy for the wanted key", () => {
    expect(progressToShow(progress, slow, "busy")).toEqual({ done: 12, total: 64 });
  });

  it("hides outside the busy state", () => {
    for (const state of ["ready", "loading", "error"] as const) expect(progressToShow(progress, slow, state)).toBeNull();
  });

  it("hides progress of another key (the controls moved on)", () => {
    expect(progressToShow(progress, { ...slow, params: { steps: 32 } }, "busy")).toBeNull();
    expect(progressToShow(progress, { ...slow, target: 3 }, "busy")).toBeNull();
  });

  it("hides when nothing runs or the numbers are unusable; clamps done", () => {
    expect(progressToShow({}, slow, "busy")).toBeNull();
    expect(progressToShow(null, slow, "busy")).toBeNull();
    expect(progressToShow({ ...progress, total: 0 }, slow, "busy")).toBeNull();
    expect(progressToShow({ ...progress, done: undefined }, slow, "busy")).toBeNull();
    expect(progressToShow({ ...progress, done: 70 }, slow, "busy")).toEqual({ done: 64, total: 64 });
  });
});
