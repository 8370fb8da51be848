// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { lookupColor } from "../src/colormap";
import { createSanityPanel, mapPixels, sanityCaption, sanityStatus, type SanityCheck } from "../src/sanityPanel";
import { FakeModel } from "./fakeModel";

const KEY = { image_index: 0, layer: "features", method: "gradcam", target: 3, params: {} };

function floats(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

function answer(survives: boolean): SanityCheck {
  return {
    key: KEY,
    steps: [
      { module: "fc", spearman: 0.9, ssim: 0.8 },
      { module: "features.3", spearman: 0.4, ssim: 0.5 },
      { module: "features.0", spearman: 0.1, ssim: 0.2 },
    ],
    maps: [
      { module: "original", spearman: 1, shape: [2, 2], data: floats([0, 1, 2, 3]) },
      { module: "fc", spearman: 0.9, shape: [2, 2], data: floats([0, 1, 2, 4]) },
      { module: "features.0", spearman: 0.1, shape: [2, 2], data: floats([3, 2, 1, 0]) },
    ],
    survives,
    verdict: survives ? "Failed: still the same" : "Passed: it changes",
  };
}

describe("sanity panel", () => {
  it("words progress layer by layer, then errors", () => {
    expect(sanityStatus({ key: KEY, running: true, done: 0, total: 54 })).toBe("randomising layer 1 of 54…");
    expect(sanityStatus({ key: KEY, running: true, done: 54, total: 54 })).toBe("randomising layer 54 of 54…");
    expect(sanityStatus({ key: KEY, running: true })).toBe("checking…");
    expect(sanityStatus({ key: KEY, error: "Wait for the map" })).toBe("Wait for the map");
    expect(sanityStatus(null)).toBe("");
  });

  it("captions each map with the layer randomised down to and its correlation", () => {
    expect(sanityCaption({ module: "original", spearman: 1 })).toEqual({ layer: "original", score: "" });
    expect(sanityCaption({ module: "layer4.2.conv3", spearman: 0.1234 })).toEqual({ layer: "↓ …2.conv3", score: "ρ 0.12" });
    expect(sanityCaption({ module: "fc", spearman: -0.5 })).toEqual({ layer: "↓ fc", score: "ρ -0.50" });
  });

  it("colours a map alone at its own size, lowest and highest at the colormap's ends", () => {
    const pixels = mapPixels({ shape: [1, 3], data: floats([0, 5, 10]) }, "viridis", "minmax");
    expect([pixels.width, pixels.height]).toEqual([3, 1]);
    expect(Array.from(pixels.data.slice(0, 3))).toEqual(lookupColor("viridis", 0));
    expect(Array.from(pixels.data.slice(8, 11))).toEqual(lookupColor("viridis", 1));
  });

  it("asks the kernel with a counter and shows the maps, the curves and the verdict", () => {
    const model = new FakeModel({ sanity_request: 2 });
    const panel = createSanityPanel(document, model);
    panel.element.querySelector<HTMLButtonElement>(".xai-sanity-run")!.click();
    expect(model.get("sanity_request")).toBe(3);
    expect(model.saveCount).toBe(1);

    panel.show({ key: KEY, running: true, done: 1, total: 3 }, "viridis", "auto");
    expect(panel.element.querySelector<HTMLButtonElement>(".xai-sanity-run")!.disabled).toBe(true);
    expect(panel.element.querySelectorAll("figure")).toHaveLength(0);

    panel.show(answer(false), "viridis", "auto");
    const figures = [...panel.element.querySelectorAll("figure")];
    expect(figures.map((f) => f.getAttribute("data-module"))).toEqual(["original", "fc", "features.0"]);
    expect(figures.map((f) => f.querySelector("canvas")!.getAttribute("data-draw-count"))).toEqual(["1", "1", "1"]);
    expect(panel.element.querySelectorAll(".xai-sanity-plot path")).toHaveLength(2);
    const verdict = panel.element.querySelector(".xai-sanity-verdict")!;
    expect(verdict.textContent).toBe("Passed: it changes");
    expect(verdict.classList.contains("xai-sanity-passed")).toBe(true);
    expect(verdict.classList.contains("xai-sanity-failed")).toBe(false);
  });

  it("flags a map that survives, and repaints only when the answer or the colours change", () => {
    const panel = createSanityPanel(document, new FakeModel({}));
    const check = answer(true);
    panel.show(check, "viridis", "auto");
    panel.show(check, "viridis", "auto");
    const canvas = () => panel.element.querySelector("figure canvas")!;
    expect(canvas().getAttribute("data-draw-count")).toBe("1");
    const first = canvas();
    panel.show(check, "magma", "auto");
    expect(canvas()).not.toBe(first); // drawn again, in the new colours
    expect(canvas().getAttribute("data-draw-count")).toBe("1");
    expect(panel.element.querySelector(".xai-sanity-verdict")!.classList.contains("xai-sanity-failed")).toBe(true);
    panel.show(null, "magma", "auto");
    expect(panel.element.querySelector(".xai-sanity-verdict")!.textContent).toBe("");
    expect((panel.element.querySelector(".xai-sanity-maps") as HTMLElement).hidden).toBe(true);
  });
});
