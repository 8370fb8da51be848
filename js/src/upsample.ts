/**
 * Bilinear resize of a row-major h×w map to outH×outW with the semantics of PyTorch
 * `F.interpolate(mode="bilinear", align_corners=False)`: pixel centres at half-integers,
 * source coordinates below 0 clamped to 0, neighbours clamped at the last row/column.
 */
export function upsampleBilinear(
  values: Float32Array,
  h: number,
  w: number,
  outH: number,
  outW: number,
): Float32Array {
  if (values.length !== h * w) throw new Error(`upsample: ${values.length} values for ${h}×${w}`);
  const rows = sourceIndices(h, outH);
  const cols = sourceIndices(w, outW);
  const out = new Float32Array(outH * outW);
  for (let y = 0; y < outH; y++) {
    const top = rows.lo[y] * w;
    const bottom = rows.hi[y] * w;
    const fy = rows.frac[y];
    for (let x = 0; x < outW; x++) {
      const left = cols.lo[x];
      const right = cols.hi[x];
      const fx = cols.frac[x];
      const upper = (1 - fx) * values[top + left] + fx * values[top + right];
      const lower = (1 - fx) * values[bottom + left] + fx * values[bottom + right];
      out[y * outW + x] = (1 - fy) * upper + fy * lower;
    }
  }
  return out;
}

/** For each output position along one axis: the two source indices and the weight of the second. */
function sourceIndices(inSize: number, outSize: number) {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const src = Math.max(0, (i + 0.5) * scale - 0.5);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    lo[i] = i0;
    hi[i] = Math.min(i0 + 1, inSize - 1);
    frac[i] = src - i0;
  }
  return { lo, hi, frac };
}
