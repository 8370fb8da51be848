// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { blendPixels } from "../src/blend";
import { composeFrame, legendRange, magnitudeWeights, type PreparedMap } from "../src/heatmap";
import { colormapGradient, createLegendView, formatValue } from "../src/legend";

const display = (opacity = 0.5) => ({ opacity, colormap: "turbo", normalization: "auto" as const });

function photo(width: number, height: number, value = 100) {
  return { width, height, data: new Uint8ClampedArray(width * height * 4).fill(value) };
}

describe("signed maps fade to the photo at zero", () => {
  it("weights are sqrt|2n - 1|: 0 at the centre of a signed scale, 1 at its ends", () => {
    expect(Array.from(magnitudeWeights(new Float32Array([0.5, 0, 1, 0.625])))).toEqual([0, 1, 1, 0.5]);
  });

  it("a zero attribution leaves the photo pixel exactly, a large one is blended at the opacity", () => {
    const map: PreparedMap = { values: new Float32Array([0, -2, 2, 1]), signed: true, normalized: {} };
    const frame = composeFrame(photo(2, 2), map, display(0.5));
    expect(Array.from(frame.pixels.data.slice(0, 4))).toEqual([100, 100, 100, 255]);
    expect(Array.from(frame.pixels.data.slice(4, 8))).not.toEqual([100, 100, 100, 255]);
    expect(frame.legend).toEqual({ colormap: "coolwarm", signed: true, low: -2, high: 2 });
  });

  it("unsigned maps keep one opacity everywhere", () => {
    const map: PreparedMap = { values: new Float32Array([0, 1, 2, 3]), signed: false, normalized: {} };
    const frame = composeFrame(photo(2, 2), map, display(0.5));
    expect(Array.from(frame.pixels.data.slice(0, 4))).not.toEqual([100, 100, 100, 255]);
    expect(frame.legend).toEqual({ colormap: "turbo", signed: false, low: 0, high: 3 });
  });

  it("per-pixel weights scale the opacity", () => {
    const out = blendPixels(new Uint8ClampedArray([0, 0, 0, 255, 0, 0, 0, 255]),
      new Uint8ClampedArray([200, 200, 200, 255, 200, 200, 200, 255]), 1, new Float32Array([0.5, 0]));
    expect(Array.from(out)).toEqual([100, 100, 100, 255, 0, 0, 0, 255]);
    expect(() => blendPixels(new Uint8ClampedArray(8), new Uint8ClampedArray(8), 1, new Float32Array(3))).toThrow();
  });
});

describe("the colour scale", () => {
  it("spans min..max, or ±max|v| for signed maps, ignoring non-finite values", () => {
    expect(legendRange(new Float32Array([1, 5, Number.NaN]), false)).toEqual({ low: 1, high: 5 });
    expect(legendRange(new Float32Array([-1, 3]), true)).toEqual({ low: -3, high: 3 });
    expect(legendRange(new Float32Array([]), false)).toEqual({ low: 0, high: 0 });
  });

  it("formats values with three significant digits", () => {
    expect([formatValue(0), formatValue(0.123456), formatValue(-2.5), formatValue(1.5e-5), formatValue(123456)])
      .toEqual(["0", "0.123", "-2.5", "1.5e-5", "1.2e+5"]);
  });

  it("draws the bar in the colormap used and labels its ends", () => {
    const view = createLegendView(document);
    expect(view.element.hidden).toBe(true);
    view.show({ colormap: "coolwarm", signed: true, low: -0.5, high: 0.5 });
    expect(view.element.hidden).toBe(false);
    expect(view.element.querySelector(".xai-legend-low")!.textContent).toBe("-0.5");
    expect(view.element.querySelector(".xai-legend-high")!.textContent).toBe("0.5");
    expect((view.element.querySelector(".xai-legend-zero") as HTMLElement).hidden).toBe(false);
    expect(colormapGradient("coolwarm")).toMatch(/^linear-gradient\(to right, rgb\(\d+, \d+, \d+\) 0%/);
    view.show(null);
    expect(view.element.hidden).toBe(true);
  });
});

describe("side-by-side view", () => {
  it("puts the photo left and the map alone right, with a gap, whatever the opacity", () => {
    const map: PreparedMap = { values: new Float32Array([0, 1, 2, 3]), signed: false, normalized: {} };
    const frame = composeFrame(photo(2, 2, 100), map, { ...display(0.1), view: "side_by_side" });
    expect([frame.pixels.width, frame.pixels.height]).toEqual([5, 2]);
    const px = (x: number, y: number) => Array.from(frame.pixels.data.slice((y * 5 + x) * 4, (y * 5 + x) * 4 + 4));
    expect(px(0, 0)).toEqual([100, 100, 100, 255]); // the photo, untouched
    expect(px(2, 0)).toEqual([0, 0, 0, 0]); // the gap
    const overlay = composeFrame(photo(2, 2, 100), map, display(1));
    expect(px(4, 1)).toEqual(Array.from(overlay.pixels.data.slice(12, 16))); // the map at full strength
    expect(frame.legend).toEqual(overlay.legend);
  });
});
