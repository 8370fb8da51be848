/**
 * Map attribution values to [0, 1] for colouring.
 *
 * - unsigned: min-max; a constant map becomes all 0.
 * - signed: divide by max |v| so that 0 maps to 0.5, -max to 0 and +max to 1;
 *   an all-zero map becomes all 0.5.
 *
 * Non-finite values (NaN, ±Infinity) are left out of the min/max and shown as a zero
 * attribution: 0 for unsigned maps, 0.5 for signed maps.
 */
export function normalizeMap(values: Float32Array, signed: boolean): Float32Array {
  const out = new Float32Array(values.length);
  if (signed) {
    let maxAbs = 0;
    for (const v of values) if (Number.isFinite(v)) maxAbs = Math.max(maxAbs, Math.abs(v));
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      out[i] = Number.isFinite(v) && maxAbs > 0 ? 0.5 + (0.5 * v) / maxAbs : 0.5;
    }
    return out;
  }
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = max - min;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = Number.isFinite(v) && range > 0 ? (v - min) / range : 0;
  }
  return out;
}
