import { chooseClass } from "./controls/targetControl";
import { setShared, Subscriptions } from "./controls/subscriptions";
import { createElement } from "./dom";
import type { WidgetModel } from "./types";

/** A detector's box as the kernel sends it (`boxes`), in photo pixels. */
export interface DetectedBox {
  index: number;
  box: [number, number, number, number];
  label: string;
  score: number;
}

/** A drag shorter than this (photo pixels) is a click. */
const CLICK_SLOP = 3;

/** Photo pixels of a point on the canvas: the left (or only) panel's coordinates, rounded to 0.1. */
export function photoPoint(
  fractionX: number,
  fractionY: number,
  canvasSize: { width: number; height: number },
  photoSize: { width: number; height: number },
): { x: number; y: number } {
  let x = fractionX * canvasSize.width;
  if (x >= photoSize.width) x -= canvasSize.width - photoSize.width; // the map panel of side by side
  const y = fractionY * canvasSize.height;
  const clamp = (v: number, high: number) => Math.round(Math.min(Math.max(v, 0), high - 0.1) * 10) / 10;
  return { x: clamp(x, photoSize.width), y: clamp(y, photoSize.height) };
}

/** The spec of a click (or a drag from `start` to `end`) on a segmentation model's photo. */
export function regionSpec(start: { x: number; y: number }, end: { x: number; y: number }) {
  const moved = Math.max(Math.abs(end.x - start.x), Math.abs(end.y - start.y));
  if (moved < CLICK_SLOP) return { kind: "region", x: start.x, y: start.y };
  return { kind: "region", x: start.x, y: start.y, x2: end.x, y2: end.y };
}

/** Picking targets on the photo: a segmenter's region (click or drag), a detector's box (click). */
export interface TargetPicker {
  element: HTMLElement;
  /** Place the layer for a photo of `photo` pixels drawn on a canvas of `canvas` pixels. */
  layout(photo: { width: number; height: number }, canvas: { width: number; height: number }): void;
  dispose(): void;
}

/** The layer over the canvas that turns clicks into targets (inert for a classifier). */
export function createTargetPicker(doc: Document, model: WidgetModel): TargetPicker {
  const subs = new Subscriptions();
  const drag = createElement(doc, "div", { className: "xai-drag-rect" });
  drag.hidden = true;
  const element = createElement(doc, "div", { className: "xai-target-layer", attrs: { "data-kind": "classes" } }, [drag]);
  let photo = { width: 0, height: 0 };
  let canvas = { width: 0, height: 0 };
  let start: { x: number; y: number } | null = null;

  const percent = (value: number, total: number) => `${(100 * value) / Math.max(total, 1)}%`;

  function pointOf(event: PointerEvent): { x: number; y: number } {
    const rect = element.getBoundingClientRect();
    const fx = (event.clientX - rect.left) / Math.max(rect.width, 1);
    const fy = (event.clientY - rect.top) / Math.max(rect.height, 1);
    return photoPoint(fx, fy, canvas, photo);
  }

  function place(node: HTMLElement, x1: number, y1: number, x2: number, y2: number): void {
    node.style.left = percent(Math.min(x1, x2), canvas.width);
    node.style.top = percent(Math.min(y1, y2), canvas.height);
    node.style.width = percent(Math.abs(x2 - x1), canvas.width);
    node.style.height = percent(Math.abs(y2 - y1), canvas.height);
  }

  function render(): void {
    const kind = String(model.get("output_kind") ?? "classes");
    element.setAttribute("data-kind", kind);
    const target = Number(model.get("target"));
    const boxes: DetectedBox[] = kind === "detection" ? model.get("boxes") ?? [] : [];
    const shown = boxes.map((entry) => {
      const selected = entry.index === target;
      const node = createElement(doc, "button", {
        className: selected ? "xai-box xai-selected" : "xai-box",
        attrs: { type: "button", "data-index": String(entry.index), "aria-pressed": String(selected), title: entry.label },
      });
      const [x1, y1, x2, y2] = entry.box;
      place(node, x1, y1, x2, y2);
      node.addEventListener("click", () => chooseClass(model, entry.index));
      return node;
    });
    // the chosen box last, so it is drawn (and clicked) above the boxes it overlaps
    shown.sort((a, b) => Number(a.classList.contains("xai-selected")) - Number(b.classList.contains("xai-selected")));
    element.replaceChildren(drag, ...shown);
  }

  subs.dom(element, "pointerdown", (event) => {
    if (element.getAttribute("data-kind") !== "segmentation" || photo.width === 0) return;
    start = pointOf(event as PointerEvent);
    element.setPointerCapture?.((event as PointerEvent).pointerId);
  });
  subs.dom(element, "pointermove", (event) => {
    if (start === null) return;
    const end = pointOf(event as PointerEvent);
    drag.hidden = false;
    place(drag, start.x, start.y, end.x, end.y);
  });
  subs.dom(element, "pointerup", (event) => {
    if (start === null) return;
    const spec = regionSpec(start, pointOf(event as PointerEvent));
    start = null;
    drag.hidden = true;
    setShared(model, "target_spec", spec);
  });
  for (const name of ["output_kind", "boxes", "target"]) subs.model(model, `change:${name}`, render);
  render();

  return {
    element,
    layout(photoSize, canvasSize) {
      photo = photoSize;
      canvas = canvasSize;
      render();
    },
    dispose: () => subs.dispose(),
  };
}
