/**
 * Alpha-blend RGBA photo pixels with RGBA heat pixels at `opacity` (clamped to 0..1):
 * out = (1 − a)·photo + a·heat per channel, rounded half up, alpha 255.
 * Opacity 0 returns the photo's colours exactly, opacity 1 the heat colours exactly.
 * `weights` (one per pixel, 0..1) scale the opacity pixel by pixel: signed maps pass |value|,
 * so zero attribution leaves the photo untouched.
 */
export function blendPixels(
  photo: Uint8ClampedArray,
  heat: Uint8ClampedArray,
  opacity: number,
  weights?: Float32Array,
): Uint8ClampedArray {
  if (photo.length !== heat.length) {
    throw new Error(`blend: photo has ${photo.length} bytes, heat has ${heat.length}`);
  }
  if (weights && weights.length * 4 !== photo.length) {
    throw new Error(`blend: ${weights.length} weights for ${photo.length / 4} pixels`);
  }
  const base = Number.isFinite(opacity) ? Math.min(1, Math.max(0, opacity)) : 0;
  const out = new Uint8ClampedArray(photo.length);
  for (let i = 0; i < photo.length; i += 4) {
    const a = weights ? base * Math.min(1, Math.max(0, weights[i >> 2])) : base;
    out[i] = Math.round((1 - a) * photo[i] + a * heat[i]);
    out[i + 1] = Math.round((1 - a) * photo[i + 1] + a * heat[i + 1]);
    out[i + 2] = Math.round((1 - a) * photo[i + 2] + a * heat[i + 2]);
    out[i + 3] = 255;
  }
  return out;
}

/** The photo alone, fully opaque (used when no map is shown). */
export function opaquePhoto(photo: Uint8ClampedArray): Uint8ClampedArray {
  const out = new Uint8ClampedArray(photo);
  for (let i = 3; i < out.length; i += 4) out[i] = 255;
  return out;
}
