// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mountExplorer } from "../src/explorer";
import { canonicalKey, dequantize, MapCache, prefetchedMaps, type PrefetchEntry } from "../src/mapCache";
import type { AttributionResult, Pixels, ViewKey } from "../src/types";
import { explorerValues, FakeModel, mapBytes } from "./fakeModel";

const PHOTO: Pixels = { width: 2, height: 2, data: new Uint8ClampedArray(16).fill(128) };

function keyAt(layer: string, target = 3): ViewKey {
  return { image_index: 0, layer, method: "gradcam", target, target_spec: {}, push: {}, params: {} };
}

function entry(key: ViewKey, offset: number, code = `code for ${key.layer}`): PrefetchEntry {
  return { key, shape: [1, 2], offset, low: -1, step: 0.5, signed: false, warning: null, explains: "cup", code };
}

describe("the browser's map cache", () => {
  it("keeps at most its limit, dropping the least recently used", () => {
    const cache = new MapCache(2);
    const item = (layer: string) => ({ result: { seq: 1, key: keyAt(layer) } as AttributionResult, code: layer });
    cache.put(keyAt("a"), item("a"));
    cache.put(keyAt("b"), item("b"));
    expect(cache.get(keyAt("a"))?.code).toBe("a"); // a is now the most recent
    cache.put(keyAt("c"), item("c"));
    expect(cache.size).toBe(2);
    expect(cache.get(keyAt("b"))).toBeUndefined();
    expect(cache.get({ ...keyAt("a"), params: {} })?.code).toBe("a");
  });

  it("finds a key whose method parameters are left at their defaults under the spelt-out key", () => {
    const methods = [{ name: "gradcam", label: "Grad-CAM", signed: false, uses_layer: true, params: [{ name: "smooth", default: "none", choices: ["none", "eigen"] }] }];
    const cache = new MapCache(4, (key) => canonicalKey(key, methods));
    cache.put({ ...keyAt("a"), params: { smooth: "none" } }, { result: { seq: 1 } as AttributionResult, code: "x" });
    expect(cache.get({ ...keyAt("a"), params: {} })?.code).toBe("x");
    expect(cache.get({ ...keyAt("a"), params: { smooth: "eigen" } })).toBeUndefined();
    expect(canonicalKey({ ...keyAt("a"), method: "unknown", params: { k: 1 } }, methods).params).toEqual({ k: 1 });
  });

  it("never lets a map sent ahead replace the kernel's own map of the same view", () => {
    const cache = new MapCache(4);
    const exact = { result: { seq: 3, key: keyAt("a") } as AttributionResult, code: "exact" };
    const ahead = { result: { seq: -1, key: keyAt("a"), cached: true } as AttributionResult, code: "ahead" };
    cache.put(keyAt("a"), exact);
    cache.offer(keyAt("a"), ahead);
    expect(cache.get(keyAt("a"))?.code).toBe("exact");
    cache.offer(keyAt("b"), ahead);
    expect(cache.get(keyAt("b"))?.code).toBe("ahead");
    cache.put(keyAt("b"), exact); // the kernel's answer still replaces a map sent ahead
    expect(cache.get(keyAt("b"))?.code).toBe("exact");
  });

  it("reads quantised maps as low + q * step and refuses a map outside its buffer", () => {
    const bytes = new Uint8Array([0, 255, 10, 20]);
    expect(Array.from(dequantize(bytes, 2, [1, 2], 1, 0.5))).toEqual([6, 11]);
    expect(() => dequantize(bytes, 3, [1, 2], 0, 1)).toThrow(/outside the 4-byte buffer/);
    const [[key, cached]] = prefetchedMaps([entry(keyAt("layer1"), 0)], new Uint8Array([2, 4]));
    expect(key.layer).toBe("layer1");
    expect(Array.from(cached.result.data as Float32Array)).toEqual([0, 1]);
    expect(cached.result.cached).toBe(true);
  });
});

describe("a view that opens", () => {
  it("asks for the maps sent ahead and keeps the result it opened on", async () => {
    const key = keyAt("layer4");
    const model = new FakeModel({
      ...explorerValues(), target: 3, method_params: {}, target_spec: {}, push: {},
      result: { seq: 1, key, shape: [1, 2], data: mapBytes([0, 1]), error: null },
    });
    const host = document.createElement("div");
    const cleanup = mountExplorer(model, host, { decodePhoto: () => Promise.resolve(PHOTO) });
    expect(model.sent).toEqual([{ kind: "prefetch_request" }]);
    expect(host.querySelector<HTMLElement>(".xai-explorer")!.dataset.cached).toBe("1");
    cleanup();
  });
});

describe("Explorer moves answered from the cache", () => {
  let model: FakeModel;
  let host: HTMLElement;
  let cleanup: () => void;
  let decodes: Array<(pixels: Pixels) => void>;
  const root = () => host.querySelector<HTMLElement>(".xai-explorer")!;
  const canvas = () => host.querySelector<HTMLCanvasElement>(".xai-canvas")!;
  const drawnKey = () => JSON.parse(canvas().getAttribute("data-drawn-key") || "null");
  const drawnReports = () => model.setCalls.filter(([name]) => name === "drawn_from_cache").map(([, value]) => value as any);
  const lastReport = () => drawnReports()[drawnReports().length - 1];

  beforeEach(async () => {
    model = new FakeModel({ ...explorerValues(), target: 3, method_params: {}, target_spec: {}, push: {} });
    host = document.createElement("div");
    document.body.append(host);
    decodes = [];
    cleanup = mountExplorer(model, host, { decodePhoto: () => new Promise<Pixels>((resolve) => decodes.push(resolve)) });
    decodes.shift()!(PHOTO);
    await Promise.resolve();
    await Promise.resolve();
    model.kernelSet("code", "code for layer4");
    model.kernelSet("result", { seq: 1, key: keyAt("layer4"), shape: [1, 2], data: mapBytes([0, 1]), error: null });
    expect(root().dataset.state).toBe("ready");
  });

  afterEach(() => {
    cleanup();
    host.remove();
  });

  it("paints a prefetched layer at once, shows its code and tells the kernel with the move", () => {
    model.kernelSend(
      { kind: "prefetch", entries: [entry(keyAt("layer1"), 0), entry(keyAt("layer2"), 2)], status: { maps: 2, complete: true } },
      [new DataView(new Uint8Array([0, 4, 2, 2]).buffer)],
    );
    expect(root().dataset.cached).toBe("3"); // two sent ahead and the result on screen
    expect(JSON.parse(root().dataset.prefetch!)).toEqual({ maps: 2, complete: true });
    const draws = Number(canvas().dataset.drawCount);
    model.set("layer", "layer2");
    expect(root().dataset.state).toBe("ready"); // no kernel answer needed
    expect(drawnKey().layer).toBe("layer2");
    expect(Number(canvas().dataset.drawCount)).toBe(draws + 1);
    expect(lastReport()).toEqual({ key: keyAt("layer2"), n: drawnReports().length });
    expect(host.querySelector(".xai-code")!.textContent).toBe("code for layer2");
    expect(JSON.parse(root().dataset.latency!).cached).toBe(true);
    // The kernel's next result replaces what the browser showed on its own.
    model.kernelSet("code", "code for layer1 from the kernel");
    model.kernelSet("result", { seq: 2, key: keyAt("layer1"), shape: [1, 2], data: mapBytes([1, 0]), error: null });
    model.set("layer", "layer1");
    expect(drawnKey().layer).toBe("layer1");
    expect(host.querySelector(".xai-code")!.textContent).toBe("code for layer1 from the kernel");
  });

  it("goes back to a result the kernel sent without asking again", () => {
    model.set("layer", "layer1");
    expect(root().dataset.state).toBe("busy");
    expect(lastReport().key).toBeNull(); // a miss: the kernel must answer
    model.kernelSet("result", { seq: 2, key: keyAt("layer1"), shape: [1, 2], data: mapBytes([1, 0]), error: null });
    model.set("layer", "layer4");
    expect(root().dataset.state).toBe("ready");
    expect(lastReport().key).toEqual(keyAt("layer4"));
  });

  it("drops the cache when the kernel says the image changed", () => {
    model.kernelSend({ kind: "prefetch", entries: [entry(keyAt("layer1"), 0)], status: {} }, [new Uint8Array([1, 2])]);
    model.kernelSend({ kind: "prefetch_reset", epoch: 2 });
    expect(root().dataset.cached).toBe("0");
    model.set("layer", "layer1");
    expect(root().dataset.state).toBe("busy");
    expect(lastReport().key).toBeNull();
  });

  it("paints a wanted map that arrives ahead of the kernel's answer", () => {
    model.set("target", 7);
    expect(root().dataset.state).toBe("busy");
    model.kernelSend({ kind: "prefetch", entries: [entry(keyAt("layer4", 7), 0)], status: {} }, [new Uint8Array([9, 3])]);
    expect(root().dataset.state).toBe("ready");
    expect(drawnKey().target).toBe(7);
  });
});
