// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { colormapTable } from "../src/colormap";
import { channelAt, channelMap, drawAtlasPage, mountFeatureMaps, pageLayout } from "../src/featureMaps";
import type { Pixels } from "../src/types";
import { FakeModel } from "./fakeModel";

// 3 channels of 2×2: channel c holds c*100 + (0, 10, 20, 30)
const ATLAS = new Uint8Array([0, 10, 20, 30, 100, 110, 120, 130, 200, 210, 220, 230]);

describe("atlas pages", () => {
  it("lays out whole-pixel tiles about 48 px wide", () => {
    const layout = pageLayout([2, 0, 1], 0, 256, 2, 2, 2);
    expect(layout).toEqual({ channels: [2, 0, 1], columns: 2, rows: 2, tile: 48, scale: 24 });
    expect(pageLayout([0, 1, 2], 1, 2, 16, 2, 2).channels).toEqual([2]);
  });

  it("colours each channel through the table, in the order's slots", () => {
    const table = colormapTable("gray");
    const layout = pageLayout([2, 0], 0, 256, 2, 2, 2);
    const page = drawAtlasPage(ATLAS, 2, 2, layout, table);
    expect([page.width, page.height]).toEqual([97, 48]);
    const at = (x: number, y: number) => page.data[(y * page.width + x) * 4];
    expect(at(0, 0)).toBe(table[200 * 3]); // slot 0 is channel 2, its first value
    expect(at(47, 47)).toBe(table[230 * 3]);
    expect(at(49, 0)).toBe(table[0]); // slot 1 is channel 0
    expect(page.data[(0 * page.width + 48) * 4 + 3]).toBe(0); // the gap stays transparent
  });

  it("finds the channel under a point and none in a gap", () => {
    const layout = pageLayout([2, 0, 1], 0, 256, 2, 2, 2);
    expect(channelAt(layout, 10, 10)).toBe(2);
    expect(channelAt(layout, 60, 10)).toBe(0);
    expect(channelAt(layout, 10, 60)).toBe(1);
    expect(channelAt(layout, 48, 10)).toBe(-1);
    expect(channelAt(layout, 60, 60)).toBe(-1);
  });

  it("turns one channel into a 0–1 float map", () => {
    const values = new Float32Array(channelMap(ATLAS, 1, 2, 2).buffer);
    expect(Array.from(values)).toEqual([100 / 255, 110 / 255, 120 / 255, 130 / 255].map(Math.fround));
  });
});

describe("FeatureMaps widget", () => {
  let model: FakeModel;
  let host: HTMLElement;
  let cleanup: () => void;
  const PHOTO: Pixels = { width: 2, height: 2, data: new Uint8ClampedArray(16).fill(128) };

  beforeEach(async () => {
    model = new FakeModel({
      photo: new DataView(new Uint8Array([137, 80]).buffer),
      title: "features: 3 channels of 2×2",
      layers: [{ name: "features", shape: [3, 2, 2] }],
      layer: "features",
      classes: [{ index: 4, label: "cat", prob: 0.5 }, { index: 1, label: "dog", prob: 0.2 }],
      target: 4,
      sort: "index",
      sorts: ["index", "activation", "contribution"],
      atlas: new DataView(ATLAS.buffer),
      atlas_shape: [3, 2, 2],
      order: [0, 1, 2],
      channel_stats: { mean: [0.1, 0.2, 0.3], weight: [1, -1, 0.5] },
      selected: -1,
      columns: 16,
      page_size: 2,
      error: "",
      notes: [],
      opacity: 0.6,
      colormap: "viridis",
      normalization: "minmax",
    });
    host = document.createElement("div");
    document.body.append(host);
    cleanup = mountFeatureMaps(model, host, { decodePhoto: async () => PHOTO });
    for (let i = 0; i < 3; i++) await Promise.resolve();
  });

  afterEach(() => {
    cleanup();
    host.remove();
  });

  it("pages in the browser and sends class and sort to the kernel", () => {
    expect(host.querySelector(".xai-fm-page")!.textContent).toBe("page 1 of 2");
    host.querySelector<HTMLButtonElement>(".xai-fm-next")!.click();
    expect(host.querySelector(".xai-fm-page")!.textContent).toBe("page 2 of 2");
    expect(model.sent).toEqual([]);
    const sort = host.querySelector<HTMLSelectElement>(".xai-fm-sort")!;
    sort.value = "contribution";
    sort.dispatchEvent(new Event("change"));
    expect(model.get("sort")).toBe("contribution");
    const classes = host.querySelector<HTMLSelectElement>(".xai-fm-class")!;
    classes.value = "1";
    classes.dispatchEvent(new Event("change"));
    expect(model.get("target")).toBe(1);
  });

  it("shows the selected channel over the photo with its stats", () => {
    const focus = host.querySelector<HTMLElement>(".xai-fm-focus")!;
    expect(focus.hidden).toBe(true);
    model.set("selected", 2);
    expect(focus.hidden).toBe(false);
    expect(focus.querySelector(".xai-cell-title")!.textContent).toBe("channel 2 · mean 0.300 · weight 0.500");
    expect(Number(focus.querySelector("canvas")!.getAttribute("data-draw-count"))).toBeGreaterThan(0);
  });
});
