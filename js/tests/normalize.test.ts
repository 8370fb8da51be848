import { describe, expect, it } from "vitest";
import { normalizeMap } from "../src/normalize";

const list = (a: Float32Array) => Array.from(a);

describe("normalizeMap, unsigned", () => {
  it("maps min to 0 and max to 1", () => {
    expect(list(normalizeMap(new Float32Array([2, 4, 6, 3]), false))).toEqual([0, 0.5, 1, 0.25]);
  });

  it("maps a constant map to all 0", () => {
    expect(list(normalizeMap(new Float32Array([5, 5, 5]), false))).toEqual([0, 0, 0]);
  });

  it("leaves NaN out of the range and shows it as 0", () => {
    expect(list(normalizeMap(new Float32Array([NaN, 1, 3, 2]), false))).toEqual([0, 0, 1, 0.5]);
    expect(list(normalizeMap(new Float32Array([NaN, NaN]), false))).toEqual([0, 0]);
  });
});

describe("normalizeMap, signed", () => {
  it("divides by max |v| so that 0 maps to 0.5", () => {
    expect(list(normalizeMap(new Float32Array([-2, 0, 1, 2]), true))).toEqual([0, 0.5, 0.75, 1]);
    expect(list(normalizeMap(new Float32Array([0, -4, 1]), true))).toEqual([0.5, 0, 0.625]);
  });

  it("maps an all-zero map to 0.5", () => {
    expect(list(normalizeMap(new Float32Array([0, 0]), true))).toEqual([0.5, 0.5]);
  });

  it("shows NaN as 0.5 (zero attribution) and ignores it for the scale", () => {
    expect(list(normalizeMap(new Float32Array([NaN, -1, 0.5]), true))).toEqual([0.5, 0, 0.75]);
  });
});
