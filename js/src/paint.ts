import type { Pixels } from "./types";

/**
 * Put RGBA pixels on a canvas at their native size (CSS scales it) and increment its
 * `data-draw-count`. Without a 2D context (a DOM without canvas support) only the count moves.
 */
export function paintCanvas(canvas: HTMLCanvasElement, pixels: Pixels): void {
  if (canvas.width !== pixels.width) canvas.width = pixels.width;
  if (canvas.height !== pixels.height) canvas.height = pixels.height;
  canvas.style.imageRendering = renderingFor(pixels.width, pixels.height);
  const context = canvas.getContext("2d");
  if (context && typeof ImageData !== "undefined") {
    const data = new Uint8ClampedArray(pixels.data.buffer as ArrayBuffer, pixels.data.byteOffset, pixels.data.length);
    context.putImageData(new ImageData(data, pixels.width, pixels.height), 0, 0);
  }
  countDraw(canvas);
}

/** Increment a canvas's `data-draw-count` attribute (every repaint, blanking included). */
export function countDraw(canvas: HTMLCanvasElement): void {
  const count = Number(canvas.getAttribute("data-draw-count")) || 0;
  canvas.setAttribute("data-draw-count", String(count + 1));
}

/** Below this many pixels on the longer side, CSS scaling would blur the picture into mush. */
export const PIXELATED_BELOW = 64;

/** How CSS should scale a picture: tiny ones (8×8 digits) as crisp blocks, photos smoothly. */
export function renderingFor(width: number, height: number): "pixelated" | "auto" {
  return Math.max(width, height) < PIXELATED_BELOW ? "pixelated" : "auto";
}
