import { createElement } from "./dom";
import type { Pixels } from "./types";

/** The picture area: canvas, busy overlay, colormap note and error text. */
export interface CanvasView {
  element: HTMLElement;
  /** Put a frame on the canvas; `drawnKey` is the JSON key of the map shown ("" for none). */
  draw(pixels: Pixels, drawnKey: string): void;
  /** Blank the canvas (no photo to show). */
  clear(): void;
  /** Show a short note under the picture ("" hides it). */
  setNote(text: string): void;
  /** Show an error message ("" hides it). Text only, never HTML. */
  setError(text: string): void;
}

/** Build the picture area. The canvas keeps the photo's native size; CSS scales it. */
export function createCanvasView(doc: Document): CanvasView {
  const canvas = createElement(doc, "canvas", {
    className: "xai-canvas",
    attrs: { "data-draw-count": "0", "data-drawn-key": "", role: "img", "aria-label": "attribution map over the photo" },
  });
  const busy = createElement(doc, "div", { className: "xai-busy", attrs: { "aria-hidden": "true" } }, [
    createElement(doc, "span", { className: "xai-spinner" }),
    createElement(doc, "span", { text: "computing…" }),
  ]);
  const note = createElement(doc, "div", { className: "xai-note" });
  const error = createElement(doc, "div", { className: "xai-error", attrs: { role: "alert" } });
  note.hidden = true;
  error.hidden = true;
  const element = createElement(doc, "div", { className: "xai-stage" }, [
    createElement(doc, "div", { className: "xai-canvas-wrap" }, [canvas, busy]),
    note,
    error,
  ]);
  let drawCount = 0;

  return {
    element,
    draw(pixels, drawnKey) {
      if (canvas.width !== pixels.width) canvas.width = pixels.width;
      if (canvas.height !== pixels.height) canvas.height = pixels.height;
      const context = canvas.getContext("2d");
      if (context && typeof ImageData !== "undefined") {
        const data = new Uint8ClampedArray(pixels.data.buffer as ArrayBuffer, pixels.data.byteOffset, pixels.data.length);
        context.putImageData(new ImageData(data, pixels.width, pixels.height), 0, 0);
      }
      drawCount += 1;
      canvas.setAttribute("data-draw-count", String(drawCount));
      canvas.setAttribute("data-drawn-key", drawnKey);
    },
    clear() {
      canvas.width = 0;
      canvas.height = 0;
      drawCount += 1;
      canvas.setAttribute("data-draw-count", String(drawCount));
      canvas.setAttribute("data-drawn-key", "");
    },
    setNote(text) {
      note.textContent = text;
      note.hidden = text === "";
    },
    setError(text) {
      error.textContent = text;
      error.hidden = text === "";
    },
  };
}
