import { createElement, errorMessage } from "./dom";
import { composeFrame, prepareMap, type PreparedMap } from "./heatmap";
import { createLegendView } from "./legend";
import { paintCanvas } from "./paint";
import type { CompareCell, DisplayOptions, Pixels } from "./types";

/** One cell of the Compare grid: its canvas, title and error text. */
export interface CellView {
  element: HTMLButtonElement;
  /** Show a cell's title and error and prepare its map for the photo (null: no photo yet). */
  setCell(cell: CompareCell, photo: Pixels | null): void;
  /** Draw the photo with this cell's map (if any) blended over it. */
  paint(photo: Pixels, display: DisplayOptions): void;
  setSelected(selected: boolean): void;
}


/**
 * A cell: a button (click = select it) holding `canvas.xai-cell-canvas`, `.xai-cell-title` and
 * `.xai-cell-error`. Errors replace the map: the photo is drawn alone and the text says why.
 */
export function createCellView(doc: Document, index: number, onSelect: (index: number) => void): CellView {
  const canvas = createElement(doc, "canvas", {
    className: "xai-cell-canvas",
    attrs: { "data-draw-count": "0", role: "img" },
  });
  const title = createElement(doc, "span", { className: "xai-cell-title" });
  const error = createElement(doc, "span", { className: "xai-cell-error", attrs: { role: "alert" } });
  error.hidden = true;
  const legend = createLegendView(doc);
  let warning = "";
  const element = createElement(
    doc,
    "button",
    { className: "xai-cell", attrs: { type: "button", "data-index": String(index), "aria-pressed": "false" } },
    [canvas, legend.element, title, error],
  );
  element.addEventListener("click", () => onSelect(index));
  let map: PreparedMap | null = null;

  const text = () => title.textContent ?? "";

  function showError(text: string): void {
    error.textContent = text;
    error.hidden = text === "";
  }

  return {
    element,
    setCell(cell, photo) {
      const text = String(cell?.title ?? "");
      title.textContent = text;
      canvas.setAttribute("aria-label", text);
      map = null;
      warning = cell?.warning ? String(cell.warning) : "";
      if (cell?.error) return showError(String(cell.error));
      showError("");
      if (!photo) return;
      try {
        map = prepareMap(cell, photo.width, photo.height);
      } catch (problem) {
        showError(`could not draw the map: ${errorMessage(problem)}`);
      }
    },
    paint(photo, display) {
      const frame = composeFrame(photo, map, display);
      paintCanvas(canvas, frame.pixels);
      legend.show(frame.legend);
      element.title = [text(), warning, frame.note].filter((part) => part !== "").join("\n");
    },
    setSelected(selected) {
      element.classList.toggle("selected", selected);
      element.setAttribute("aria-pressed", String(selected));
    },
  };
}
