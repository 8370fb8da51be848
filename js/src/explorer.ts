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
import { withLocalValues } from "./localModel";
import { CACHE_MAPS, canonicalKey, MapCache, prefetchedMaps, type PrefetchMessage } from "./mapCache";
import { keyOf, keyToJson, progressToShow, sameKey, shouldDraw, viewState, type Shown } from "./state";
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
export function mountExplorer(kernelModel: WidgetModel, host: HTMLElement, options: ExplorerOptions = {}): () => void {
  const decodePhoto = options.decodePhoto ?? decodePng;
  // A map painted from the cache shows its own result and code here; the kernel records them quietly.
  const model = withLocalValues(kernelModel, ["result", "code"]);
  const cache = new MapCache(CACHE_MAPS, (key) => canonicalKey(key, kernelModel.get("methods")));
  /** Counts the moves reported in `drawn_from_cache` (each is taken up once by the kernel). */
  let moves = 0;
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
        const split = { ...splitLatency(now - changedAt, Number(shownResult?.compute_ms ?? 0), now - paintStart), cached: shownResult?.cached === true };
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

  /**
   * The wanted key from the cache, if it is there: shown at once (result and code, here only),
   * and the kernel is told with the move (`drawn_from_cache`) so that it records it without
   * sending it back. A miss says so too, so an older hit is never taken for this move.
   */
  function paintFromCache(): void {
    const wanted = keyOf(model);
    const hit = cache.get(wanted);
    const onScreen = hit !== undefined && shownResult?.data === hit.result.data && shown.kind === "map" && sameKey(shown.key, wanted);
    moves += 1;
    kernelModel.set("drawn_from_cache", { key: hit ? wanted : null, n: moves });
    if (!hit || onScreen) return;
    model.showLocally("code", hit.code);
    // The same map under the key asked for, drawn with no kernel work waited on.
    model.showLocally("result", { ...hit.result, key: wanted, cached: true, compute_ms: 0 });
  }

  /** Keep what the kernel sent (a result, or maps sent ahead) for later moves. */
  function keepResult(): void {
    const result: AttributionResult | null = kernelModel.get("result");
    if (result && !result.error && result.key && result.data) {
      cache.put(result.key, { result, code: String(kernelModel.get("code") ?? "") });
      root.setAttribute("data-cached", String(cache.size));
    }
  }

  function onMessage(message: PrefetchMessage, buffers?: Binary[]): void {
    if (!message || typeof message !== "object") return;
    if (message.kind === "prefetch_reset") {
      cache.clear();
    } else if (message.kind === "prefetch") {
      try {
        for (const [key, entry] of prefetchedMaps(message.entries ?? [], buffers?.[0])) cache.offer(key, entry);
      } catch (error) {
        console.warn("xai_widgets: a prefetch message could not be read", error);
      }
      root.setAttribute("data-prefetch", JSON.stringify(message.status ?? {}));
      if (shown.kind !== "map" || !sameKey(shown.key, keyOf(model))) paintFromCache();
    } else {
      return;
    }
    root.setAttribute("data-cached", String(cache.size));
  }

  const subs = new Subscriptions();
  const onKeyChange = () => {
    const json = keyToJson(keyOf(model));
    if (json !== wantedJson) {
      wantedJson = json;
      changedAt = performance.now();
      paintFromCache();
    }
    refresh(false);
  };
  subs.model(kernelModel, "change:result", keepResult);
  subs.model(kernelModel, "msg:custom", onMessage);
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
  keepResult(); // the result this view opened on
  // Maps sent ahead before this view existed never reached it: ask for them.
  const send = (kernelModel as { send?: (content: unknown) => void }).send;
  if (typeof send === "function") send.call(kernelModel, { kind: "prefetch_request" });
  loadPhoto();

  return () => {
    disposed = true;
    subs.dispose();
    model.dispose();
    cache.clear();
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
