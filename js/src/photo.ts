import { copyBytes } from "./decode";
import type { Binary, Pixels } from "./types";

/** Number of bytes in a binary trait value (0 for anything else). */
export function byteLength(data: unknown): number {
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

/**
 * Decode PNG bytes into RGBA pixels at the image's native size (browser only:
 * createImageBitmap plus a 2D canvas). No colour-space conversion, so pixels match the PNG.
 */
export async function decodePng(data: Binary): Promise<Pixels> {
  const bytes = copyBytes(data);
  const bitmap = await createImageBitmap(new Blob([bytes.buffer as ArrayBuffer], { type: "image/png" }), {
    colorSpaceConversion: "none",
    premultiplyAlpha: "none",
  });
  try {
    const { width, height } = bitmap;
    const canvas =
      typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(width, height) : Object.assign(document.createElement("canvas"), { width, height });
    const context = canvas.getContext("2d") as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
    if (!context) throw new Error("no 2D canvas context");
    context.drawImage(bitmap, 0, 0);
    return { width, height, data: context.getImageData(0, 0, width, height).data };
  } finally {
    bitmap.close();
  }
}
