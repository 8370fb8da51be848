import { describe, expect, it } from "vitest";
import { composeFrame, normalizedMap, prepareMap, type PreparedMap } from "../src/heatmap";
import type { DisplayOptions, Pixels } from "../src/types";

const photo: Pixels = { width: 2, height: 1, data: new Uint8ClampedArray([10, 20, 30, 255, 40, 50, 60, 255]) };
const bytes = (values: number[]) => new DataView(new Float32Array(values).buffer);
const key = { image_index: 0, layer: "l", method: "m", target: 0 };
const display = (extra: Partial<DisplayOptions> = {}): DisplayOptions => ({
  opacity: 1,
  colormap: "viridis",
  normalization: "auto",
  ...extra,
});
const mapOf = (values: number[], signed: boolean): PreparedMap => ({
  values: new Float32Array(values),
  signed,
  normalized: {},
});

describe("prepareMap / normalizedMap", () => {
  it("upsamples to the photo size; normalises on demand", () => {
    const result = { seq: 1, key, shape: [1, 1], data: bytes([3]), signed: false };
    const map = prepareMap(result, 2, 1);
    expect(Array.from(map.values)).toEqual([3, 3]);
    expect(Array.from(normalizedMap(map, "auto"))).toEqual([0, 0]);
    const signed = prepareMap({ shape: [1, 2], data: bytes([-2, 1]), signed: true }, 2, 1);
    expect(signed.signed).toBe(true);
    expect(Array.from(normalizedMap(signed, "auto"))).toEqual([0, 0.75]);
    expect(Array.from(normalizedMap(signed, "minmax"))).toEqual([0, 1]);
  });

  it("computes each mode once", () => {
    const map = mapOf([0, 1], false);
    expect(normalizedMap(map, "percentile")).toBe(normalizedMap(map, "percentile"));
    expect(Object.keys(map.normalized)).toEqual(["percentile"]);
  });
});

describe("composeFrame", () => {
  it("blends the coloured map over the photo", () => {
    const map = mapOf([0, 1], false);
    const frame = composeFrame(photo, map, display());
    expect(Array.from(frame.pixels.data)).toEqual([68, 1, 84, 255, 253, 231, 36, 255]);
    expect(frame.note).toBe("");
    expect(Array.from(composeFrame(photo, map, display({ opacity: 0 })).pixels.data)).toEqual(Array.from(photo.data));
  });

  it("uses the chosen normalisation", () => {
    // minmax of [-1, 1] puts -1 at viridis(0); absmax of an unsigned map clips it to 0 too.
    const map = mapOf([-1, 1], false);
    expect(Array.from(composeFrame(photo, map, display({ normalization: "absmax" })).pixels.data)).toEqual([
      68, 1, 84, 255, 253, 231, 36, 255,
    ]);
  });

  it("shows the photo alone without a map", () => {
    expect(Array.from(composeFrame(photo, null, display({ opacity: 0.7, colormap: "jet" })).pixels.data)).toEqual(
      Array.from(photo.data),
    );
  });

  it("draws signed maps with coolwarm when a sequential colormap is chosen", () => {
    const frame = composeFrame(photo, mapOf([-1, 1], true), display());
    expect(Array.from(frame.pixels.data)).toEqual([58, 76, 192, 255, 179, 3, 38, 255]);
    expect(frame.note).toContain("coolwarm");
  });
});
