import { describe, expect, it } from "vitest";
import { NORMALIZATIONS, normalizeMap, percentile, toNormalization } from "../src/normalize";

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

describe("normalizeMap, modes", () => {
  it("auto is the default and matches the behaviour above", () => {
    const values = new Float32Array([2, 4, 6, 3]);
    expect(list(normalizeMap(values, false, "auto"))).toEqual(list(normalizeMap(values, false)));
    const signed = new Float32Array([-2, 0, 1, 2]);
    expect(list(normalizeMap(signed, true, "auto"))).toEqual([0, 0.5, 0.75, 1]);
  });

  it("minmax stretches signed maps too", () => {
    expect(list(normalizeMap(new Float32Array([-1, 0, 3]), true, "minmax"))).toEqual([0, 0.25, 1]);
  });

  it("absmax keeps zero fixed: around 0.5 for signed maps, at 0 for unsigned ones", () => {
    expect(list(normalizeMap(new Float32Array([-2, 0, 1]), true, "absmax"))).toEqual([0, 0.5, 0.75]);
    expect(list(normalizeMap(new Float32Array([1, 2, 4]), false, "absmax"))).toEqual([0.25, 0.5, 1]);
    expect(list(normalizeMap(new Float32Array([-4, 2]), false, "absmax"))).toEqual([0, 0.5]);
    expect(list(normalizeMap(new Float32Array([0, 0]), false, "absmax"))).toEqual([0, 0]);
  });

  it("toNormalization accepts the four modes and falls back to auto", () => {
    expect(NORMALIZATIONS.map(([mode]) => toNormalization(mode))).toEqual(["auto", "minmax", "absmax", "percentile"]);
    expect(toNormalization("zscore")).toBe("auto");
    expect(toNormalization(undefined)).toBe("auto");
  });
});

describe("normalizeMap, 99th percentile", () => {
  /** 0, 1, ..., 99 and one hot pixel of 10 000. */
  const ramp = () => {
    const values = new Float32Array(101);
    for (let i = 0; i < 100; i++) values[i] = i;
    values[100] = 10000;
    return values;
  };

  it("percentile matches numpy's linear interpolation", () => {
    const sorted = new Float64Array([1, 2, 3, 4, 5]);
    expect(percentile(sorted, 50)).toBe(3);
    expect(percentile(sorted, 99)).toBeCloseTo(4.96, 12);
    expect(percentile(sorted, 100)).toBe(5);
    expect(percentile(new Float64Array([7]), 99)).toBe(7);
    expect(Number.isNaN(percentile(new Float64Array([]), 99))).toBe(true);
  });

  it("one hot pixel does not wash out an unsigned map", () => {
    const values = ramp();
    const auto = normalizeMap(values, false, "auto");
    const clipped = normalizeMap(values, false, "percentile");
    // Under min-max the ramp is squeezed below 0.01; clipped at the 99th percentile
    // (np.percentile of the 101 values = 99.0) it spans the whole scale.
    expect(auto[50]).toBeLessThan(0.01);
    expect(clipped[50]).toBeCloseTo(50 / 99, 6);
    expect(clipped[99]).toBe(1);
    expect(clipped[100]).toBe(1);
    expect(clipped[0]).toBe(0);
  });

  it("maps a constant map to all 0 (and a map that is flat except one pixel to min-max)", () => {
    expect(list(normalizeMap(new Float32Array([5, 5, 5]), false, "percentile"))).toEqual([0, 0, 0]);
    const sparse = new Float32Array(200);
    sparse[7] = 3;
    const out = normalizeMap(sparse, false, "percentile");
    expect(out[7]).toBe(1);
    expect(out[0]).toBe(0);
  });

  it("keeps signed maps around 0.5 and clips at the 99th percentile of |v|", () => {
    const values = new Float32Array(201);
    for (let i = 0; i < 200; i++) values[i] = (i % 2 === 0 ? 1 : -1) * ((i >> 1) + 1); // ±1..±100
    values[200] = -10000; // one cold pixel
    const out = normalizeMap(values, true, "percentile");
    const top = percentile(new Float64Array(Array.from(values, Math.abs).sort((a, b) => a - b)), 99);
    expect(top).toBe(100);
    expect(out[0]).toBeCloseTo(0.5 + 0.5 / top, 6); // +1
    expect(out[1]).toBeCloseTo(0.5 - 0.5 / top, 6); // -1
    expect(out[200]).toBe(0);
    expect(list(normalizeMap(new Float32Array([0, 0, 0]), true, "percentile"))).toEqual([0.5, 0.5, 0.5]);
    expect(list(normalizeMap(new Float32Array([NaN, 0, 2]), true, "percentile"))).toEqual([0.5, 0.5, 1]);
  });
});
