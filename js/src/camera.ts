import { createDisplayControls } from "./controls/displayControls";
import { setShared, Subscriptions } from "./controls/subscriptions";
import { controlRow, createElement, errorMessage, setOptions } from "./dom";
import { widgetEntry } from "./entry";
import { formatPercent } from "./format";
import { composeFrame, prepareMap } from "./heatmap";
import { createLegendView } from "./legend";
import { paintCanvas } from "./paint";
import { decodePng } from "./photo";
import type { Binary, MethodInfo, Pixels, WidgetModel } from "./types";

/** The kernel's answer to one frame (`msg:custom` with the map as its buffer). */
export interface FrameResult {
  type: "result";
  seq: number;
  error: string | null;
  shape?: number[];
  signed?: boolean;
  label?: string;
  prob?: number;
  kernel_ms?: number;
}

/** Frames per second over the last few answers (their arrival times, in ms). */
export function framesPerSecond(times: readonly number[]): number {
  if (times.length < 2) return 0;
  const span = times[times.length - 1] - times[0];
  return span > 0 ? ((times.length - 1) * 1000) / span : 0;
}

/** The size of a frame whose long side is `longest`, keeping the video's aspect. */
export function frameSize(videoWidth: number, videoHeight: number, longest: number): { width: number; height: number } {
  const scale = Math.min(1, longest / Math.max(videoWidth, videoHeight, 1));
  return { width: Math.max(1, Math.round(videoWidth * scale)), height: Math.max(1, Math.round(videoHeight * scale)) };
}

/** Camera access, replaceable in tests. */
export interface CameraOptions {
  getStream?: () => Promise<MediaStream>;
  decodePicture?: (bytes: Binary) => Promise<Pixels>;
}

const FPS_WINDOW = 10;

/**
 * Build the Camera widget in `host`: the live picture with the map of the last answered frame over
 * it, the prediction, the measured frames per second, a start/stop button and the method and
 * display controls. One frame is in flight at a time; the next is taken when its answer arrives
 * (and no sooner than 1/max_fps after the last), so a slow kernel drops frames instead of queueing
 * them. Returns the cleanup function (stops the camera).
 */
export function mountCamera(model: WidgetModel & { send: (content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[]) => void }, host: HTMLElement, options: CameraOptions = {}): () => void {
  const doc = host.ownerDocument;
  const decodePicture = options.decodePicture ?? decodePng;  // createImageBitmap reads JPEG as well
  const subs = new Subscriptions();
  const display = createDisplayControls(doc, model, subs, () => undefined);
  const method = createElement(doc, "select", { className: "xai-method-select", attrs: { "aria-label": "method" } });
  const toggle = createElement(doc, "button", { className: "xai-camera-toggle", text: "Stop", attrs: { type: "button" } });
  const status = createElement(doc, "div", { className: "xai-camera-status", attrs: { "aria-live": "polite" } });
  const fps = createElement(doc, "span", { className: "xai-camera-fps", text: "— fps" });
  const canvas = createElement(doc, "canvas", { className: "xai-canvas xai-camera-canvas", attrs: { "data-draw-count": "0", "data-frames": "0" } });
  const scale = createLegendView(doc);
  const error = createElement(doc, "div", { className: "xai-compare-error", attrs: { role: "alert" } });
  error.hidden = true;
  const video = createElement(doc, "video", { attrs: { playsinline: "", muted: "" } });
  video.muted = true;
  video.hidden = true;
  const root = createElement(doc, "div", { className: "xai-compare xai-camera", attrs: { "data-state": "loading", "data-fps": "0" } }, [
    createElement(doc, "div", { className: "xai-display" }, [controlRow(doc, "Method", method), toggle, fps]),
    display.element,
    error,
    createElement(doc, "div", { className: "xai-camera-picture" }, [canvas, scale.element]),
    status,
    video,
  ]);
  host.append(root);

  const grab = doc.createElement("canvas");
  let stream: MediaStream | null = null;
  let seq = 0;
  let inFlight: { seq: number } | null = null;
  let lastSent = 0;
  let answers: number[] = [];
  let frames = 0;
  let stopped = false;
  let timer = 0;

  function showError(text: string): void {
    error.textContent = text;
    error.hidden = text === "";
  }

  /** Take a frame from the video, keep its pixels, send it as a JPEG; or wait a little. */
  function sendFrame(): void {
    timer = 0;
    if (stopped || inFlight || !stream || video.readyState < 2 || !model.get("running")) return;
    const wait = 1000 / Math.max(0.1, Number(model.get("max_fps")) || 15) - (performance.now() - lastSent);
    if (wait > 0) {
      timer = window.setTimeout(sendFrame, wait);
      return;
    }
    const size = frameSize(video.videoWidth, video.videoHeight, Number(model.get("frame_size")) || 320);
    grab.width = size.width;
    grab.height = size.height;
    const context = grab.getContext("2d");
    if (!context) return showError("no 2D canvas to take frames with");
    context.drawImage(video, 0, 0, size.width, size.height);
    const current = ++seq;
    inFlight = { seq: current };
    lastSent = performance.now();
    grab.toBlob(
      (blob) => {
        if (!blob || stopped) return;
        blob.arrayBuffer().then((buffer) => model.send({ type: "frame", seq: current }, undefined, [buffer]));
      },
      "image/jpeg",
      0.85,
    );
  }

  function onMessage(message: FrameResult, buffers: Binary[] = []): void {
    if (!message || message.type !== "result" || !inFlight || message.seq !== inFlight.seq) return;
    if (message.error || buffers.length < 2) return answered(message, null, buffers);
    // the second buffer is the frame as the model saw it (the transform's resize and crop)
    decodePicture(buffers[1]).then(
      (frame) => answered(message, frame, buffers),
      (problem) => answered({ ...message, error: `could not decode the frame: ${errorMessage(problem)}` }, null, buffers),
    );
  }

  function answered(message: FrameResult, frame: Pixels | null, buffers: Binary[]): void {
    if (stopped) return;
    inFlight = null;
    answers = [...answers, performance.now()].slice(-FPS_WINDOW);
    const rate = framesPerSecond(answers);
    root.setAttribute("data-fps", rate.toFixed(2));
    fps.textContent = `${rate.toFixed(1)} fps`;
    if (message.error || !frame) {
      showError(String(message.error ?? "no frame came back"));
    } else {
      showError("");
      try {
        const map = prepareMap({ shape: message.shape, data: buffers[0], signed: message.signed }, frame.width, frame.height);
        const picture = composeFrame(frame, map, display.current());
        paintCanvas(canvas, picture.pixels);
        scale.show(picture.legend);
        frames += 1;
        canvas.setAttribute("data-frames", String(frames));
        status.textContent = `${message.label} (${formatPercent(Number(message.prob))}) · kernel ${message.kernel_ms} ms`;
        root.setAttribute("data-state", "ready");
      } catch (problem) {
        showError(`could not draw the map: ${errorMessage(problem)}`);
      }
    }
    sendFrame();
  }

  async function start(): Promise<void> {
    try {
      const getStream = options.getStream ?? (() => navigator.mediaDevices.getUserMedia({ video: true, audio: false }));
      stream = await getStream();
      if (stopped) return stream.getTracks().forEach((track) => track.stop());
      video.srcObject = stream;
      await video.play();
      sendFrame();
    } catch (problem) {
      showError(`no camera: ${errorMessage(problem)} (the browser must allow camera access for this page)`);
      root.setAttribute("data-state", "error");
    }
  }

  const showMethods = () => {
    const methods: MethodInfo[] = model.get("methods") ?? [];
    setOptions(method, methods.map((m): [string, string] => [m.name, m.label]), String(model.get("method") ?? ""));
  };
  const showRunning = () => {
    toggle.textContent = model.get("running") ? "Stop" : "Start";
    if (model.get("running")) sendFrame();
  };

  subs.model(model, "msg:custom", onMessage);
  subs.model(model, "change:methods", showMethods);
  subs.model(model, "change:method", showMethods);
  subs.model(model, "change:running", showRunning);
  subs.dom(method, "change", () => setShared(model, "method", method.value));
  subs.dom(toggle, "click", () => setShared(model, "running", !model.get("running")));
  showMethods();
  showRunning();
  void start();

  return () => {
    stopped = true;
    if (timer) window.clearTimeout(timer);
    stream?.getTracks().forEach((track) => track.stop());
    subs.dispose();
    root.remove();
  };
}

/** anywidget entry point. */
export default widgetEntry((model, el) => mountCamera(model as Parameters<typeof mountCamera>[0], el));
