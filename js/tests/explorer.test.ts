// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mountExplorer } from "../src/explorer";
import type { AttributionResult, Pixels, ViewKey } from "../src/types";
import { explorerValues, FakeModel, mapBytes } from "./fakeModel";

/** A 2×2 mid-grey photo; the fake decoder resolves when the test calls `finishDecode`. */
const PHOTO: Pixels = { width: 2, height: 2, data: new Uint8ClampedArray(16).fill(128) };

let model: FakeModel;
let host: HTMLElement;
let cleanup: () => void;
let pendingDecodes: Array<(pixels: Pixels) => void>;

const root = () => host.querySelector<HTMLElement>(".xai-explorer")!;
const canvas = () => host.querySelector<HTMLCanvasElement>(".xai-canvas")!;
const state = () => root().getAttribute("data-state");
const drawCount = () => Number(canvas().getAttribute("data-draw-count"));
const drawnKey = () => canvas().getAttribute("data-drawn-key");
const errorBox = () => host.querySelector<HTMLElement>(".xai-error")!;
const wanted = (): ViewKey => ({
  image_index: model.get("image_index"),
  layer: model.get("layer"),
  method: model.get("method"),
  target: model.get("target"),
  target_spec: model.get("target_spec") ?? {},
  push: model.get("push") ?? {},
  params: model.get("method_params"),
});

function result(key: ViewKey, seq: number, extra: Partial<AttributionResult> = {}): AttributionResult {
  return { seq, key, shape: [1, 2], data: mapBytes([0, 1]), signed: false, error: null, ...extra };
}

async function finishDecode(pixels: Pixels = PHOTO): Promise<void> {
  pendingDecodes.shift()!(pixels);
  await Promise.resolve();
  await Promise.resolve();
}

beforeEach(() => {
  model = new FakeModel(explorerValues());
  host = document.createElement("div");
  document.body.append(host);
  pendingDecodes = [];
  cleanup = mountExplorer(model, host, {
    decodePhoto: () => new Promise<Pixels>((resolve) => pendingDecodes.push(resolve)),
  });
});

afterEach(() => {
  cleanup();
  host.remove();
});

describe("Explorer drawing rule", () => {
  it("is loading until the photo is decoded, then busy until a matching result", async () => {
    expect(state()).toBe("loading");
    await finishDecode();
    expect(state()).toBe("busy");
    expect(drawCount()).toBe(1);
    expect(drawnKey()).toBe("");
  });

  it("draws a matching result and ignores stale ones", async () => {
    await finishDecode();
    model.kernelSet("result", result({ ...wanted(), layer: "layer2" }, 1));
    expect(state()).toBe("busy");
    expect(drawCount()).toBe(1);
    model.kernelSet("result", result(wanted(), 2));
    expect(state()).toBe("ready");
    expect(drawCount()).toBe(2);
    expect(JSON.parse(drawnKey()!)).toEqual(wanted());
  });

  it("goes busy when a control moves and ready again when its result arrives", async () => {
    await finishDecode();
    model.kernelSet("result", result(wanted(), 1));
    const layerSelect = host.querySelector<HTMLSelectElement>(".xai-layer-select")!;
    layerSelect.value = "layer1";
    layerSelect.dispatchEvent(new Event("change"));
    expect(state()).toBe("busy");
    expect(JSON.parse(drawnKey()!).layer).toBe("layer4");
    model.kernelSet("result", result(wanted(), 2));
    expect(state()).toBe("ready");
    expect(JSON.parse(drawnKey()!).layer).toBe("layer1");
  });

  it("draws a result that arrived before its key (e.g. target rewritten after it)", async () => {
    await finishDecode();
    model.kernelSet("result", result({ ...wanted(), target: 5 }, 1));
    expect(state()).toBe("busy");
    model.kernelSet("target", 5);
    expect(state()).toBe("ready");
  });

  it("waits for a new photo before drawing the new image's result", async () => {
    await finishDecode();
    model.kernelSet("image_index", 1);
    model.kernelSet("photo", new DataView(new Uint8Array([1, 2, 3]).buffer));
    model.kernelSet("result", result(wanted(), 1));
    expect(state()).toBe("busy");
    expect(drawCount()).toBe(1);
    await finishDecode({ width: 4, height: 2, data: new Uint8ClampedArray(32) });
    expect(state()).toBe("ready");
    expect(canvas().width).toBe(4);
    expect(JSON.parse(drawnKey()!).image_index).toBe(1);
  });

  it("repaints on opacity and colormap changes without saving", async () => {
    await finishDecode();
    model.kernelSet("result", result(wanted(), 1));
    const before = drawCount();
    const opacity = host.querySelector<HTMLInputElement>(".xai-opacity")!;
    opacity.value = "0.9";
    opacity.dispatchEvent(new Event("input"));
    const colormap = host.querySelector<HTMLSelectElement>(".xai-colormap")!;
    colormap.value = "gray";
    colormap.dispatchEvent(new Event("change"));
    model.kernelSet("opacity", 0.1);
    expect(drawCount()).toBe(before + 3);
    expect(model.saveCount).toBe(0);
    expect(state()).toBe("ready");
  });

  it("notes when a signed map is shown with coolwarm instead of a sequential colormap", async () => {
    await finishDecode();
    model.kernelSet("result", result(wanted(), 1, { signed: true, data: mapBytes([-1, 1]) }));
    const note = host.querySelector<HTMLElement>(".xai-note")!;
    expect(note.hidden).toBe(false);
    expect(note.textContent).toContain("coolwarm");
  });
});

describe("Explorer method parameters, progress and normalisation", () => {
  const progressBox = () => host.querySelector<HTMLElement>(".xai-progress")!;

  it("draws only the result computed with the wanted params (compared by value)", async () => {
    await finishDecode();
    model.kernelSet("method", "smoothgrad");
    model.kernelSet("method_params", { samples: 25, noise: 0.3, variant: "mean" });
    model.kernelSet("result", result({ ...wanted(), params: { samples: 25, noise: 0.15, variant: "mean" } }, 1));
    expect(state()).toBe("busy");
    model.kernelSet("result", result({ ...wanted(), params: { variant: "mean", noise: 0.3, samples: 25 } }, 2));
    expect(state()).toBe("ready");
    expect(JSON.parse(drawnKey()!).params).toEqual({ noise: 0.3, samples: 25, variant: "mean" });
    // Moving a parameter makes the widget busy until the new result arrives.
    const noise = host.querySelector<HTMLInputElement>('.xai-param[data-param="noise"] input')!;
    noise.value = "0.4";
    noise.dispatchEvent(new Event("change"));
    expect(model.saveCount).toBe(1);
    expect(state()).toBe("busy");
  });

  it("shows progress for the wanted key while busy, and hides it otherwise", async () => {
    await finishDecode();
    expect(progressBox().hidden).toBe(true);
    model.kernelSet("progress", { key: wanted(), done: 3, total: 16 });
    expect(state()).toBe("busy");
    expect(progressBox().hidden).toBe(false);
    expect(progressBox().getAttribute("data-done")).toBe("3");
    expect(progressBox().getAttribute("data-total")).toBe("16");
    expect(progressBox().textContent).toBe("3/16");
    expect(progressBox().closest(".xai-busy")).not.toBeNull();
    // The controls move on: the old job's progress is not shown.
    model.kernelSet("target", 4);
    expect(progressBox().hidden).toBe(true);
    model.kernelSet("progress", { key: wanted(), done: 0, total: 8 });
    expect(progressBox().hidden).toBe(false);
    model.kernelSet("result", result(wanted(), 1));
    expect(state()).toBe("ready");
    expect(progressBox().hidden).toBe(true);
    model.kernelSet("progress", {});
    expect(progressBox().hidden).toBe(true);
    expect(model.saveCount).toBe(0);
  });

  it("repaints on a normalisation change without saving", async () => {
    await finishDecode();
    model.kernelSet("result", result(wanted(), 1));
    const before = drawCount();
    const select = host.querySelector<HTMLSelectElement>(".xai-normalization")!;
    select.value = "percentile";
    select.dispatchEvent(new Event("change"));
    model.kernelSet("normalization", "minmax");
    expect(drawCount()).toBe(before + 2);
    expect(select.value).toBe("minmax");
    expect(model.saveCount).toBe(0);
    expect(model.setCalls).toEqual([]);
  });
});

describe("Explorer errors", () => {
  it("shows a result error as text and stays usable", async () => {
    await finishDecode();
    model.kernelSet("result", result(wanted(), 1, { data: undefined, error: "<img src=x> layer has no gradient" }));
    expect(state()).toBe("error");
    expect(errorBox().hidden).toBe(false);
    expect(errorBox().textContent).toBe("<img src=x> layer has no gradient");
    expect(errorBox().querySelector("img")).toBeNull();
    expect(drawnKey()).toBe("");
    const method = host.querySelector<HTMLSelectElement>(".xai-method-select")!;
    method.value = "saliency";
    method.dispatchEvent(new Event("change"));
    expect(state()).toBe("busy");
    expect(errorBox().hidden).toBe(true);
    model.kernelSet("result", result(wanted(), 2));
    expect(state()).toBe("ready");
  });

  it("shows the error of an image that could not be loaded (no photo)", async () => {
    await finishDecode();
    model.kernelSet("image_index", 1);
    model.kernelSet("photo", new DataView(new ArrayBuffer(0)));
    expect(state()).toBe("loading");
    expect(canvas().width).toBe(0);
    model.kernelSet("result", result(wanted(), 1, { data: undefined, error: "cannot open image" }));
    expect(state()).toBe("error");
    expect(errorBox().textContent).toBe("cannot open image");
    model.kernelSet("image_index", 0);
    model.kernelSet("photo", new DataView(new Uint8Array([1]).buffer));
    expect(state()).toBe("loading");
    await finishDecode();
    model.kernelSet("result", result(wanted(), 2));
    expect(state()).toBe("ready");
    expect(errorBox().hidden).toBe(true);
  });

  it("shows an error when the photo cannot be decoded", async () => {
    pendingDecodes = [];
    cleanup();
    cleanup = mountExplorer(model, host, { decodePhoto: () => Promise.reject(new Error("not a PNG")) });
    await Promise.resolve();
    await Promise.resolve();
    expect(state()).toBe("error");
    expect(errorBox().textContent).toBe("could not decode the photo: not a PNG");
  });

  it("reports map data that does not match its shape as an error", async () => {
    await finishDecode();
    model.kernelSet("result", result(wanted(), 1, { shape: [3, 3] }));
    expect(state()).toBe("error");
    expect(errorBox().textContent).toContain("expected 36");
  });
});

describe("Explorer session notes", () => {
  const notes = () => host.querySelector<HTMLElement>(".xai-session-notes")!;

  it("lists the engine's notes as text, and hides the list when there are none", () => {
    expect(notes().hidden).toBe(true);
    model.set("notes", ["Gradient maps default to 'blocks.1.norm1'.", "<b>not markup</b>"]);
    expect(notes().hidden).toBe(false);
    expect([...notes().querySelectorAll("p")].map((p) => p.textContent)).toEqual([
      "Gradient maps default to 'blocks.1.norm1'.",
      "<b>not markup</b>",
    ]);
    expect(notes().querySelector("b")).toBeNull();
    model.set("notes", []);
    expect(notes().hidden).toBe(true);
    expect(notes().children.length).toBe(0);
  });
});

describe("Explorer cleanup", () => {
  it("removes all model listeners and its DOM", () => {
    expect(model.listenerCount()).toBeGreaterThan(0);
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(host.querySelector(".xai-explorer")).toBeNull();
    cleanup = () => {};
  });
});

describe("Explorer cost confirmation", () => {
  const confirmBox = () => host.querySelector<HTMLElement>(".xai-confirm")!;

  it("shows the kernel's question for the wanted key only, and Run sends that key back", async () => {
    await finishDecode();
    expect(confirmBox().hidden).toBe(true);
    const message = "Occlusion with these settings runs the model on 1,849 images, about 40 s here. Run it?";
    model.kernelSet("pending_cost", { key: wanted(), forwards: 1849, seconds: 40, message });
    expect(confirmBox().hidden).toBe(false);
    expect(confirmBox().textContent).toContain("1,849 images");
    const saves = model.saveCount;
    host.querySelector<HTMLButtonElement>(".xai-confirm-run")!.click();
    expect(model.saveCount).toBe(saves + 1);
    expect(model.get("confirmed")).toEqual(wanted());
    model.kernelSet("pending_cost", { key: { ...wanted(), layer: "elsewhere" }, forwards: 1, seconds: 99 });
    expect(confirmBox().hidden).toBe(true); // a question about another setting is not shown
    model.kernelSet("pending_cost", {});
    expect(confirmBox().hidden).toBe(true);
  });
});

describe("Explorer colormap in use", () => {
  it("says beside the colormap control when a signed map is drawn with another colormap", async () => {
    await finishDecode();
    const used = () => host.querySelector<HTMLElement>(".xai-colormap-used")!;
    model.kernelSet("result", result(wanted(), 1, { signed: true, data: mapBytes([-1, 1]) }));
    expect(used().hidden).toBe(false);
    expect(used().textContent).toBe("signed map: coolwarm");
    model.kernelSet("result", result(wanted(), 2, { signed: false }));
    expect(used().hidden).toBe(true);
  });
});
