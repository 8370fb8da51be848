import { createCanvasView } from "./canvasView";
import { createCodePanel } from "./codePanel";
import { createLatencyView, splitLatency } from "./latency";
import { createControls } from "./controls";
import { Subscriptions } from "./controls/subscriptions";
import { createConfirmView, pendingFor } from "./confirm";
import { createElement, errorMessage } from "./dom";
import { checkFor, createFaithPanel } from "./faithPlot";
import { createSanityPanel, type SanityCheck } from "./sanityPanel";
import { composeFrame, prepareMap, type PreparedMap } from "./heatmap";
import { byteLength, decodePng } from "./photo";
import { createTargetPicker } from "./targetPicker";
import { keyOf, keyToJson, progressToShow, shouldDraw, viewState, type Shown } from "./state";
import type { AttributionResult, Binary, Pixels, WidgetModel } from "./types";

/** Replaceable pieces, for tests without a browser. */
export interface ExplorerOptions {
  decodePhoto?: (bytes: Binary) => Promise<Pixels>;
}

/** Model events after which the wanted key or the latest result may have changed. */
const KEY_EVENTS = [
  "change:image_index",
  "change:layer",
  "change:method",
  "change:target",
  "change:target_spec",
  "change:push",
  "change:method_params",
  "change:result",
];


/**
 * Build the Explorer inside `host` and keep it in step with the model.
 * Returns the cleanup function (removes listeners and the DOM it added).
 */
export function mountExplorer(model: WidgetModel, host: HTMLElement, options: ExplorerOptions = {}): () => void {
  const decodePhoto = options.decodePhoto ?? decodePng;
  const doc = host.ownerDocument;

  const view = createCanvasView(doc);
  const confirm = createConfirmView(doc, model);
  const faith = createFaithPanel(doc, model);
  const sanity = createSanityPanel(doc, model);
  const code = createCodePanel(doc, model);
  const latency = createLatencyView(doc);
  view.element.append(confirm.element, faith.element, sanity.element, code.element, latency.element);
  const picker = createTargetPicker(doc, model);
  view.addLayer(picker.element);
  const controls = createControls(doc, model, () => refresh(true));
  const root = createElement(doc, "div", { className: "xai-explorer", attrs: { "data-state": "loading" } }, [
    view.element,
    controls.element,
  ]);
  host.append(root);

  let photo: Pixels | null = null;
  let photoPending = false;
  let photoToken = 0;
  /** What is on screen over the photo, the result it came from, and its prepared map. */
  let shown: Shown = { kind: "none" };
  let shownResult: AttributionResult | null = null;
  let shownMap: PreparedMap | null = null;
  let errorText = "";
  let disposed = false;
  /** The wanted key (as JSON) and when it last changed: the start of a change's latency. */
  let wantedJson = "";
  let changedAt = 0;

  /** Decode the current `photo` trait; only the latest decode is used. */
  function loadPhoto(): void {
    const token = ++photoToken;
    const bytes = model.get("photo");
    if (byteLength(bytes) === 0) {
      // No photo (e.g. the image could not be loaded): clear the picture; an error result
      // for the wanted key is still shown.
      photo = null;
      photoPending = false;
      resetShown();
      view.clear();
      refresh(false);
      return;
    }
    photoPending = true;
    updateState();
    decodePhoto(bytes).then(
      (pixels) => {
        if (disposed || token !== photoToken) return;
        photo = pixels;
        photoPending = false;
        // A new photo invalidates the map on screen (it belonged to the previous image).
        resetShown();
        refresh(true);
      },
      (error) => {
        if (disposed || token !== photoToken) return;
        // No photo to draw on: the widget shows the error until a decodable photo arrives.
        photo = null;
        photoPending = false;
        resetShown();
        shown = { kind: "error", key: null };
        errorText = `could not decode the photo: ${errorMessage(error)}`;
        view.clear();
        updateState();
      },
    );
  }

  function resetShown(): void {
    shown = { kind: "none" };
    shownResult = null;
    shownMap = null;
    errorText = "";
  }

  /**
   * Adopt the latest result if it matches the wanted key (drawing rule). Errors are adopted
   * even without a photo; maps wait for one. Returns true if adopted.
   */
  function adoptResult(): boolean {
    const result: AttributionResult | null = model.get("result");
    if (!shouldDraw(result, keyOf(model)) || result === shownResult) return false;
    if (!result.error && !photo) return false;
    shownResult = result;
    if (result.error) {
      shown = { kind: "error", key: result.key };
      shownMap = null;
      errorText = String(result.error);
      return true;
    }
    try {
      shownMap = prepareMap(result, photo!.width, photo!.height);
      shown = { kind: "map", key: result.key };
      errorText = "";
    } catch (error) {
      shown = { kind: "error", key: result.key };
      shownMap = null;
      errorText = `could not draw the map: ${errorMessage(error)}`;
    }
    return true;
  }

  /** Adopt a matching result if there is one, repaint if needed, and update the state. */
  function refresh(forceDraw: boolean): void {
    if (disposed) return;
    const adopted = !photoPending && adoptResult();
    if (photo && !photoPending && (adopted || forceDraw)) {
      const paintStart = performance.now();
      const frame = composeFrame(photo, shown.kind === "map" ? shownMap : null, controls.display());
      view.draw(frame.pixels, shown.kind === "map" ? keyToJson(shown.key) : "");
      if (adopted && shown.kind === "map" && changedAt > 0) {
        const now = performance.now();
        const split = splitLatency(now - changedAt, Number(shownResult?.compute_ms ?? 0), now - paintStart);
        root.setAttribute("data-latency", JSON.stringify(split));
        latency.show(split);
        changedAt = 0;
      }
      picker.layout(photo, frame.pixels);
      view.setLegend(frame.legend);
      controls.showColormapUsed(frame.legend?.colormap ?? "");
      const warning = shown.kind === "map" && shownResult?.warning ? String(shownResult.warning) : "";
      view.setNote([warning, frame.note].filter((text) => text !== "").join(" · "));
    }
    updateState();
  }

  function updateState(): void {
    const wanted = keyOf(model);
    const state = viewState(photo !== null, photoPending, shown, wanted);
    root.setAttribute("data-state", state);
    view.setError(state === "error" ? errorText : "");
    view.setProgress(progressToShow(model.get("progress"), wanted, state));
    confirm.show(pendingFor(model.get("pending_cost"), wanted));
    faith.element.hidden = shown.kind !== "map";
    faith.show(checkFor(model.get("faithfulness"), shown.kind === "map" ? shown.key : null));
    sanity.element.hidden = shown.kind !== "map";
    sanity.show(
      checkFor<SanityCheck>(model.get("sanity"), shown.kind === "map" ? shown.key : null),
      controls.display().colormap,
      controls.display().normalization,
    );
  }

  const showNotes = () => {
    const notes: unknown = model.get("notes");
    view.setNotes(Array.isArray(notes) ? notes.map(String) : []);
  };

  const subs = new Subscriptions();
  const onKeyChange = () => {
    const json = keyToJson(keyOf(model));
    if (json !== wantedJson) {
      wantedJson = json;
      changedAt = performance.now();
    }
    refresh(false);
  };
  for (const event of KEY_EVENTS) subs.model(model, event, event === "change:result" ? () => refresh(false) : onKeyChange);
  subs.model(model, "change:photo", loadPhoto);
  subs.model(model, "change:progress", updateState);
  subs.model(model, "change:pending_cost", updateState);
  subs.model(model, "change:notes", showNotes);
  subs.model(model, "change:faithfulness", updateState);
  subs.model(model, "change:sanity", updateState);
  subs.model(model, "change:code", code.show);
  code.show();
  showNotes();
  loadPhoto();

  return () => {
    disposed = true;
    subs.dispose();
    controls.dispose();
    picker.dispose();
    root.remove();
  };
}

/** anywidget entry point. */
export default {
  render({ model, el }: { model: WidgetModel; el: HTMLElement }) {
    return mountExplorer(model, el);
  },
};
