import type { MethodInfo, ParamInfo, ParamValue, ParamValues } from "./types";

/** The catalogue entry of a method, or undefined for an unknown name. */
export function findMethod(methods: readonly MethodInfo[] | null | undefined, name: string): MethodInfo | undefined {
  return (methods ?? []).find((method) => method.name === name);
}

/** The parameters a method declares (none when absent). */
export function methodParams(method: MethodInfo | undefined): ParamInfo[] {
  return Array.isArray(method?.params) ? method!.params! : [];
}

/** Whether a parameter is shown as a select (non-empty `choices`) rather than a slider. */
export function isChoiceParam(param: ParamInfo): boolean {
  return Array.isArray(param.choices) && param.choices.length > 0;
}

/** Every parameter of a method at its default value. */
export function paramDefaults(method: MethodInfo | undefined): ParamValues {
  const values: ParamValues = {};
  for (const param of methodParams(method)) values[param.name] = param.default;
  return values;
}

/**
 * The values to show and send for a method: each of its parameters from `current` when set
 * there, else its default. Names the method does not declare are left out (the kernel
 * rejects unknown parameters).
 */
export function paramValues(method: MethodInfo | undefined, current: ParamValues | null | undefined): ParamValues {
  const values: ParamValues = {};
  for (const param of methodParams(method)) {
    const value = current && Object.prototype.hasOwnProperty.call(current, param.name) ? current[param.name] : undefined;
    values[param.name] = value === undefined || value === null ? param.default : value;
  }
  return values;
}

/** Number of decimals in a step (0.05 → 2, 1 → 0). */
export function stepDecimals(step: number): number {
  if (!Number.isFinite(step)) return 0;
  const text = String(step);
  const exponent = /e-(\d+)$/.exec(text);
  if (exponent) return Number(exponent[1]);
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : text.length - dot - 1;
}

/** Slider bounds of a numeric parameter, with fallbacks for missing ones. */
export function sliderRange(param: ParamInfo): { min: number; max: number; step: number } {
  const fallback = typeof param.default === "number" && Number.isFinite(param.default) ? param.default : 0;
  const min = typeof param.min === "number" && Number.isFinite(param.min) ? param.min : Math.min(0, fallback);
  let max = typeof param.max === "number" && Number.isFinite(param.max) ? param.max : Math.max(1, fallback);
  if (max < min) max = min;
  const step = typeof param.step === "number" && param.step > 0 ? param.step : Number.isInteger(fallback) ? 1 : 0.01;
  return { min, max, step };
}

/**
 * A slider's value as the parameter's number: clamped to [min, max], snapped to the step grid
 * from `min`, and rounded to the step's decimals (no 0.30000000000000004).
 */
export function snapParam(param: ParamInfo, raw: unknown): number {
  const { min, max, step } = sliderRange(param);
  const n = Number(raw);
  if (!Number.isFinite(n)) return typeof param.default === "number" ? param.default : min;
  const snapped = min + Math.round((Math.min(max, Math.max(min, n)) - min) / step) * step;
  const decimals = Math.max(stepDecimals(step), stepDecimals(min));
  return Number(Math.min(max, snapped).toFixed(Math.min(20, decimals)));
}

/** A parameter value as shown next to its slider (as many decimals as the step has). */
export function formatParamValue(param: ParamInfo, value: ParamValue): string {
  if (typeof value !== "number") return String(value);
  return value.toFixed(Math.min(20, stepDecimals(sliderRange(param).step)));
}

/**
 * Whether two `method_params` dicts hold the same values, ignoring key order.
 * Absent or null counts as `{}`; values compare with `===`.
 */
export function sameParams(a: ParamValues | null | undefined, b: ParamValues | null | undefined): boolean {
  const left = a ?? {};
  const right = b ?? {};
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.prototype.hasOwnProperty.call(right, key) && left[key] === right[key]);
}

/** A copy of a params dict with its keys sorted (for stable JSON). */
export function sortedParams(params: ParamValues | null | undefined): ParamValues {
  const out: ParamValues = {};
  for (const key of Object.keys(params ?? {}).sort()) out[key] = params![key];
  return out;
}
