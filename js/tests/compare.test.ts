// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { gridColumns, mountCompare } from "../src/compare";
import type { CompareCell, Pixels } from "../src/types";
import { FakeModel, mapBytes } from "./fakeModel";

/** A 2×1 photo; the stub decoder resolves when the test calls `finishDecode`. */
const PHOTO: Pixels = { width: 2, height: 1, data: new Uint8ClampedArray([10, 20, 30, 255, 40, 50, 60, 255]) };

function cellsOf(): CompareCell[] {
  return [
    { title: "Grad-CAM · layer4", method: "gradcam", layer: "layer4", target: 3, shape: [1, 2], data: mapBytes([0, 1]), signed: false, error: null },
    { title: "Integrated gradients", method: "ig", layer: "", target: 3, shape: [1, 1], data: mapBytes([-2]), signed: true, error: null },
    { title: "<b>Score-CAM</b>", method: "scorecam", layer: "layer4", target: 3, signed: false, error: "<img src=x> out of memory" },
  ];
}

let model: FakeModel;
let host: HTMLElement;
let cleanup: () => void;
let pendingDecodes: Array<(pixels: Pixels) => void>;

const root = () => host.querySelector<HTMLElement>(".xai-compare")!;
const cells = () => Array.from(host.querySelectorAll<HTMLElement>(".xai-cell"));
const canvases = () => Array.from(host.querySelectorAll<HTMLCanvasElement>("canvas.xai-cell-canvas"));
const drawCounts = () => canvases().map((canvas) => Number(canvas.getAttribute("data-draw-count")));

async function finishDecode(pixels: Pixels = PHOTO): Promise<void> {
  pendingDecodes.shift()!(pixels);
  await Promise.resolve();
  await Promise.resolve();
}

beforeEach(() => {
  model = new FakeModel({
    photo: new DataView(new Uint8Array([137, 80, 78, 71]).buffer),
    title: "coffee · espresso (0.96)",
    cells: cellsOf(),
    columns: 2,
    opacity: 0.5,
    colormap: "viridis",
    normalization: "auto",
    selected: -1,
  });
  host = document.createElement("div");
  document.body.append(host);
  pendingDecodes = [];
  cleanup = mountCompare(model, host, {
    decodePhoto: () => new Promise<Pixels>((resolve) => pendingDecodes.push(resolve)),
  });
});

afterEach(() => {
  cleanup();
  host.remove();
});

describe("Compare grid", () => {
  it("is loading until the photo is decoded, then draws every cell and is ready", async () => {
    expect(root().getAttribute("data-state")).toBe("loading");
    expect(host.querySelector(".xai-compare-title")!.textContent).toBe("coffee · espresso (0.96)");
    expect(cells().length).toBe(3);
    expect(drawCounts()).toEqual([0, 0, 0]);
    await finishDecode();
    expect(root().getAttribute("data-state")).toBe("ready");
    expect(drawCounts()).toEqual([1, 1, 1]);
    expect(canvases()[0].width).toBe(2);
    expect(Array.from(host.querySelectorAll(".xai-cell-title")).map((t) => t.textContent)).toEqual([
      "Grad-CAM · layer4",
      "Integrated gradients",
      "<b>Score-CAM</b>",
    ]);
    expect(host.querySelector(".xai-compare-grid")!.getAttribute("style")).toContain("--xai-columns: 2");
  });

  it("shows a cell's error as text, next to the photo alone", async () => {
    await finishDecode();
    const errors = cells().map((cell) => cell.querySelector<HTMLElement>(".xai-cell-error")!);
    expect(errors.map((e) => e.hidden)).toEqual([true, true, false]);
    expect(errors[2].textContent).toBe("<img src=x> out of memory");
    expect(host.querySelector(".xai-compare img, .xai-compare b")).toBeNull();
  });

  it("reports map data that does not match its shape in that cell only", async () => {
    await finishDecode();
    model.kernelSet("cells", [{ ...cellsOf()[0], shape: [3, 3] }, cellsOf()[1]]);
    expect(cells().length).toBe(2);
    expect(cells()[0].querySelector(".xai-cell-error")!.textContent).toContain("expected 36");
    expect(cells()[1].querySelector<HTMLElement>(".xai-cell-error")!.hidden).toBe(true);
    expect(root().getAttribute("data-state")).toBe("ready");
  });

  it("clicking cell 1 sets selected=1, saves once and outlines that cell", async () => {
    await finishDecode();
    cells()[1].click();
    expect(model.setCalls).toEqual([["selected", 1]]);
    expect(model.saveCount).toBe(1);
    expect(cells().map((cell) => cell.classList.contains("selected"))).toEqual([false, true, false]);
    cells()[1].click();
    expect(model.saveCount).toBe(1);
    model.kernelSet("selected", 2);
    expect(cells().map((cell) => cell.classList.contains("selected"))).toEqual([false, false, true]);
  });

  it("opacity, colormap and normalisation repaint every cell and never save", async () => {
    await finishDecode();
    const opacity = host.querySelector<HTMLInputElement>("input.xai-opacity")!;
    expect(opacity.getAttribute("data-lm-suppress-shortcuts")).toBe("true");
    opacity.value = "0.9";
    opacity.dispatchEvent(new Event("input"));
    const colormap = host.querySelector<HTMLSelectElement>("select.xai-colormap")!;
    colormap.value = "jet";
    colormap.dispatchEvent(new Event("change"));
    const normalization = host.querySelector<HTMLSelectElement>("select.xai-normalization")!;
    normalization.value = "percentile";
    normalization.dispatchEvent(new Event("change"));
    model.kernelSet("opacity", 0.2);
    expect(drawCounts()).toEqual([5, 5, 5]);
    expect(model.setCalls).toEqual([]);
    expect(model.saveCount).toBe(0);
  });

  it("re-renders on change:cells, reusing canvases so draw counts keep growing", async () => {
    await finishDecode();
    const first = canvases()[0];
    model.kernelSet("cells", [...cellsOf(), { ...cellsOf()[0], title: "LayerCAM" }]);
    expect(canvases()[0]).toBe(first);
    expect(drawCounts()).toEqual([2, 2, 2, 1]);
    expect(cells()[3].querySelector(".xai-cell-title")!.textContent).toBe("LayerCAM");
    model.kernelSet("cells", []);
    expect(cells().length).toBe(0);
    expect(root().getAttribute("data-state")).toBe("ready");
  });

  it("notes on a signed cell that it is drawn with coolwarm (the Explorer's rule)", async () => {
    await finishDecode();
    expect(cells()[1].title).toContain("coolwarm");
    // every tooltip starts with the full title (titles are cut to one line with an ellipsis)
    const title = cells()[0].querySelector(".xai-cell-title")!.textContent!;
    expect(cells()[0].title).toBe(title);
  });

  it("shows each cell's colour scale and its warning in the tooltip", async () => {
    model.kernelSet("cells", [{ ...cellsOf()[0], warning: "This map is all zero" }, ...cellsOf().slice(1)]);
    await finishDecode();
    const legend = cells()[0].querySelector(".xai-legend") as HTMLElement;
    expect(legend.hidden).toBe(false);
    expect(legend.getAttribute("data-colormap")).toBe("viridis"); // the fixture's colormap
    expect(cells()[0].title).toContain("This map is all zero");
    const signed = cells()[1].querySelector(".xai-legend") as HTMLElement;
    expect(signed.getAttribute("data-colormap")).toBe("coolwarm");
    const [low, high] = signed.getAttribute("data-range")!.split(" ").map(Number);
    expect(low).toBe(-high);
  });

  it("waits for a new photo, and shows an undecodable photo as an error", async () => {
    await finishDecode();
    model.kernelSet("photo", new DataView(new Uint8Array([1, 2]).buffer));
    expect(root().getAttribute("data-state")).toBe("loading");
    await finishDecode({ width: 4, height: 1, data: new Uint8ClampedArray(16) });
    expect(root().getAttribute("data-state")).toBe("ready");
    expect(canvases()[0].width).toBe(4);
    cleanup();
    cleanup = mountCompare(model, host, { decodePhoto: () => Promise.reject(new Error("not a PNG")) });
    await Promise.resolve();
    await Promise.resolve();
    expect(root().getAttribute("data-state")).toBe("error");
    expect(host.querySelector(".xai-compare-error")!.textContent).toBe("could not decode the photo: not a PNG");
  });

  it("cleanup removes all model listeners and its DOM", () => {
    expect(model.listenerCount()).toBeGreaterThan(0);
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(host.querySelector(".xai-compare")).toBeNull();
    cleanup = () => {};
  });

  it("gridColumns falls back to 3 for unusable values", () => {
    expect([gridColumns(4), gridColumns(0), gridColumns("x"), gridColumns(undefined), gridColumns(2.7)]).toEqual([4, 3, 3, 3, 2]);
  });
});
