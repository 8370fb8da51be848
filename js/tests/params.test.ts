import { describe, expect, it } from "vitest";
import {
  findMethod,
  formatParamValue,
  isChoiceParam,
  paramDefaults,
  paramValues,
  sameParams,
  sliderRange,
  snapParam,
  sortedParams,
  stepDecimals,
} from "../src/params";
import type { MethodInfo, ParamInfo } from "../src/types";

const samples: ParamInfo = { name: "samples", label: "samples", default: 25, min: 1, max: 200, step: 1, choices: [] };
const noise: ParamInfo = { name: "noise", label: "noise", default: 0.15, min: 0, max: 0.5, step: 0.01, choices: [] };
const variant: ParamInfo = { name: "variant", label: "variant", default: "mean", choices: ["mean", "squared"] };
const smoothgrad: MethodInfo = {
  name: "smoothgrad",
  label: "SmoothGrad",
  signed: false,
  uses_layer: false,
  params: [samples, noise, variant],
};
const gradcam: MethodInfo = { name: "gradcam", label: "Grad-CAM", signed: false, uses_layer: true };

describe("method parameters", () => {
  it("finds methods and their defaults (none for methods without params)", () => {
    expect(findMethod([gradcam, smoothgrad], "smoothgrad")).toBe(smoothgrad);
    expect(findMethod([gradcam], "nope")).toBeUndefined();
    expect(paramDefaults(smoothgrad)).toEqual({ samples: 25, noise: 0.15, variant: "mean" });
    expect(paramDefaults(gradcam)).toEqual({});
    expect(paramDefaults(undefined)).toEqual({});
  });

  it("current values: the model's where set, defaults elsewhere, unknown names dropped", () => {
    expect(paramValues(smoothgrad, { noise: 0.3, steps: 8 })).toEqual({ samples: 25, noise: 0.3, variant: "mean" });
    expect(paramValues(smoothgrad, null)).toEqual(paramDefaults(smoothgrad));
    expect(paramValues(gradcam, { noise: 0.3 })).toEqual({});
  });

  it("tells selects from sliders", () => {
    expect(isChoiceParam(variant)).toBe(true);
    expect(isChoiceParam(samples)).toBe(false);
    expect(isChoiceParam({ ...samples, choices: null })).toBe(false);
  });

  it("snaps slider values to the step grid and the bounds", () => {
    expect(snapParam(noise, "0.3")).toBe(0.3);
    expect(snapParam(noise, 0.1 + 0.2)).toBe(0.3);
    expect(snapParam(noise, "0.777")).toBe(0.5);
    expect(snapParam(samples, "12.6")).toBe(13);
    expect(snapParam(samples, "-4")).toBe(1);
    expect(snapParam({ name: "w", default: 32, min: 4, max: 112, step: 4 }, "31")).toBe(32);
    expect(snapParam(samples, "abc")).toBe(25);
  });

  it("fills missing slider bounds", () => {
    expect(sliderRange({ name: "x", default: 0.5 })).toEqual({ min: 0, max: 1, step: 0.01 });
    expect(sliderRange({ name: "x", default: 8, min: null, max: null, step: null })).toEqual({ min: 0, max: 8, step: 1 });
  });

  it("formats values with the step's decimals", () => {
    expect(stepDecimals(0.01)).toBe(2);
    expect(stepDecimals(1)).toBe(0);
    expect(stepDecimals(1e-7)).toBe(7);
    expect(formatParamValue(noise, 0.3)).toBe("0.30");
    expect(formatParamValue(samples, 25)).toBe("25");
    expect(formatParamValue(variant, "var")).toBe("var");
  });
});

describe("sameParams (value equality of flat dicts)", () => {
  it("ignores key order", () => {
    expect(sameParams({ a: 1, b: "x" }, { b: "x", a: 1 })).toBe(true);
  });

  it("compares values and key sets", () => {
    expect(sameParams({ a: 1 }, { a: 2 })).toBe(false);
    expect(sameParams({ a: 1 }, { a: "1" })).toBe(false);
    expect(sameParams({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameParams({ a: 1, b: 2 }, { a: 1, c: 2 })).toBe(false);
  });

  it("treats absent and null as {}", () => {
    expect(sameParams(undefined, {})).toBe(true);
    expect(sameParams(null, undefined)).toBe(true);
    expect(sameParams(null, { a: 1 })).toBe(false);
  });

  it("sorts keys for stable JSON", () => {
    expect(JSON.stringify(sortedParams({ b: 2, a: 1 }))).toBe('{"a":1,"b":2}');
  });
});
