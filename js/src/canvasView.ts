import { createElement } from "./dom";
import { countDraw, paintCanvas } from "./paint";
import type { ProgressShown } from "./state";
import type { Legend } from "./heatmap";
import { createLegendView } from "./legend";
import type { Pixels } from "./types";

/** The picture area: canvas, busy overlay (with a progress bar), colormap note and error text. */
export interface CanvasView {
  element: HTMLElement;
  /** Put a frame on the canvas; `drawnKey` is the JSON key of the map shown ("" for none). */
  draw(pixels: Pixels, drawnKey: string): void;
  /** Blank the canvas (no photo to show). */
  clear(): void;
  /** Show a short note under the picture ("" hides it). */
  setNote(text: string): void;
  /** Show the colour scale of the map on screen (null hides it). */
  setLegend(legend: Legend | null): void;
  /** Show an error message ("" hides it). Text only, never HTML. */
  setError(text: string): void;
  /** Show what the engine changed or chose on the way (one line each; none hides the list). Text only. */
  setNotes(notes: readonly string[]): void;
  /** Show "done/total" and a bar in the busy overlay (null hides it). */
  setProgress(progress: ProgressShown | null): void;
  /** Put `layer` over the canvas, under the busy overlay (for example the target picker). */
  addLayer(layer: HTMLElement): void;
}

/** Build the picture area. The canvas keeps the photo's native size; CSS scales it. */
export function createCanvasView(doc: Document): CanvasView {
  const canvas = createElement(doc, "canvas", {
    className: "xai-canvas",
    attrs: { "data-draw-count": "0", "data-drawn-key": "", role: "img", "aria-label": "attribution map over the photo" },
  });
  const progressBar = createElement(doc, "span", { className: "xai-progress-bar" });
  const progressText = createElement(doc, "span", { className: "xai-progress-text" });
  const progress = createElement(doc, "div", { className: "xai-progress", attrs: { "data-done": "", "data-total": "" } }, [
    createElement(doc, "span", { className: "xai-progress-track" }, [progressBar]),
    progressText,
  ]);
  progress.hidden = true;
  const busy = createElement(doc, "div", { className: "xai-busy", attrs: { "aria-hidden": "true" } }, [
    createElement(doc, "span", { className: "xai-spinner" }),
    createElement(doc, "span", { text: "computing…" }),
    progress,
  ]);
  const note = createElement(doc, "div", { className: "xai-note" });
  const legend = createLegendView(doc);
  const error = createElement(doc, "div", { className: "xai-error", attrs: { role: "alert" } });
  const notesList = createElement(doc, "div", { className: "xai-session-notes", attrs: { "aria-label": "notes" } });
  note.hidden = true;
  error.hidden = true;
  notesList.hidden = true;
  const element = createElement(doc, "div", { className: "xai-stage" }, [
    createElement(doc, "div", { className: "xai-canvas-wrap" }, [canvas, busy]),
    legend.element,
    note,
    error,
    notesList,
  ]);

  return {
    element,
    draw(pixels, drawnKey) {
      paintCanvas(canvas, pixels);
      canvas.setAttribute("data-drawn-key", drawnKey);
    },
    clear() {
      canvas.width = 0;
      canvas.height = 0;
      countDraw(canvas);
      canvas.setAttribute("data-drawn-key", "");
    },
    setLegend(shown) {
      legend.show(shown);
    },
    setNote(text) {
      note.textContent = text;
      note.hidden = text === "";
    },
    setError(text) {
      error.textContent = text;
      error.hidden = text === "";
    },
    setNotes(notes) {
      notesList.replaceChildren(...notes.map((text) => createElement(doc, "p", { text })));
      notesList.hidden = notes.length === 0;
    },
    addLayer(layer) {
      busy.before(layer);
    },
    setProgress(shown) {
      progress.hidden = shown === null;
      progress.setAttribute("data-done", shown ? String(shown.done) : "");
      progress.setAttribute("data-total", shown ? String(shown.total) : "");
      progressText.textContent = shown ? `${shown.done}/${shown.total}` : "";
      progressBar.style.width = shown ? `${(100 * shown.done) / shown.total}%` : "0%";
    },
  };
}
