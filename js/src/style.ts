/** Widget CSS. Colours come from JupyterLab theme variables, with fallbacks for other hosts. */
export const css = `
.xai-explorer {
  display: flex; flex-wrap: wrap; align-items: flex-start; gap: 12px; padding: 4px;
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1, #222);
}
.xai-explorer .xai-stage { flex: 0 1 320px; min-width: 200px; max-width: 320px; }
.xai-explorer .xai-canvas-wrap { position: relative; line-height: 0; }
.xai-explorer .xai-canvas {
  width: 100%; height: auto; display: block; border-radius: 3px;
  background: var(--jp-layout-color2, #eee);
}
.xai-explorer .xai-busy {
  position: absolute; inset: 0; display: none; flex-wrap: wrap; align-content: center; align-items: center; justify-content: center; gap: 6px;
  line-height: normal; color: #fff; background: rgba(0, 0, 0, 0.35); border-radius: 3px;
}
.xai-explorer[data-state="busy"] .xai-busy, .xai-explorer[data-state="loading"] .xai-busy { display: flex; }
.xai-explorer .xai-spinner {
  width: 14px; height: 14px; border: 2px solid rgba(255, 255, 255, 0.4); border-top-color: #fff;
  border-radius: 50%; animation: xai-spin 0.8s linear infinite;
}
@keyframes xai-spin { to { transform: rotate(360deg); } }
.xai-explorer .xai-progress { flex: 0 0 70%; display: flex; flex-direction: column; align-items: center; gap: 3px; font-size: 0.9em; font-variant-numeric: tabular-nums; }
.xai-explorer .xai-progress-track { display: block; width: 100%; height: 3px; background: rgba(255, 255, 255, 0.3); border-radius: 2px; overflow: hidden; }
.xai-explorer .xai-progress-bar { display: block; height: 100%; width: 0; background: #fff; transition: width 0.15s linear; }
.xai-legend { display: flex; align-items: center; gap: 6px; margin-top: 4px; font-size: 0.8em;
  color: var(--jp-ui-font-color2, #666); max-width: 100%; }
.xai-legend[hidden] { display: none; }
.xai-legend[data-signed="true"] { padding-bottom: 12px; }
.xai-legend-track { position: relative; flex: 1; height: 10px; min-width: 40px; }
.xai-legend-bar { position: absolute; inset: 0; border-radius: 2px; }
.xai-legend-zero { position: absolute; left: 50%; top: 10px; transform: translateX(-50%); font-size: 0.9em; }
.xai-legend-zero[hidden] { display: none; }
.xai-compare .xai-legend { font-size: 0.7em; }
.xai-explorer .xai-note { margin-top: 4px; color: var(--jp-ui-font-color2, #666); font-size: 0.9em; }
.xai-explorer .xai-session-notes { margin-top: 6px; color: var(--jp-ui-font-color2, #666); font-size: 0.85em; }
.xai-explorer .xai-session-notes p { margin: 0 0 4px; }
:is(.xai-explorer .xai-error, .xai-compare .xai-compare-error) {
  margin-top: 4px; padding: 4px 6px; border-radius: 3px; white-space: pre-wrap; overflow-wrap: anywhere;
  color: var(--jp-error-color1, #b00020);
  background: var(--jp-error-color3, rgba(176, 0, 32, 0.08));
}
:is(.xai-explorer, .xai-compare) [hidden] { display: none !important; }
.xai-explorer .xai-panel { flex: 1 1 240px; min-width: 220px; max-width: 380px; display: flex; flex-direction: column; gap: 8px; }
:is(.xai-explorer, .xai-compare) :is(.xai-row, .xai-section) { display: flex; flex-direction: column; gap: 3px; }
:is(.xai-explorer, .xai-compare) .xai-caption { font-weight: 600; color: var(--jp-ui-font-color2, #555); font-size: 0.9em; }
.xai-explorer .xai-stack { display: flex; flex-direction: column; gap: 3px; }
:is(.xai-explorer, .xai-compare) :is(select, input[type="text"]) {
  font: inherit; color: inherit; padding: 2px 4px; box-sizing: border-box; width: 100%;
  background: var(--jp-input-background, var(--jp-layout-color1, #fff));
  border: 1px solid var(--jp-border-color1, #bbb); border-radius: 2px;
}
:is(.xai-explorer, .xai-compare) input[type="range"] { width: 100%; margin: 0; }
:is(.xai-explorer, .xai-compare) .xai-inline { display: flex; align-items: center; gap: 6px; }
:is(.xai-explorer, .xai-compare) .xai-value { min-width: 3em; text-align: right; font-size: 0.9em; font-variant-numeric: tabular-nums; color: var(--jp-ui-font-color2, #666); }
.xai-explorer .xai-disabled { opacity: 0.45; }
.xai-explorer .xai-class-controls { display: flex; flex-direction: column; gap: 8px; }
.xai-explorer .xai-class-free > :is(.xai-section, .xai-row) { opacity: 0.5; }
.xai-explorer .xai-class-note { font-size: 0.9em; font-style: italic; color: var(--jp-ui-font-color2, #666); }
.xai-explorer .xai-params { display: flex; flex-direction: column; gap: 6px; padding-left: 8px; border-left: 2px solid var(--jp-border-color2, #ddd); }
.xai-explorer .xai-top { display: flex; flex-direction: column; gap: 2px; }
.xai-explorer .xai-top-item {
  display: grid; grid-template-columns: 1fr auto; grid-template-rows: auto 3px; column-gap: 6px; row-gap: 2px;
  text-align: left; font: inherit; color: inherit; cursor: pointer; padding: 3px 6px;
  background: transparent; border: 1px solid transparent; border-radius: 3px;
}
.xai-explorer .xai-top-item:hover { background: var(--jp-layout-color2, #f0f0f0); }
.xai-explorer .xai-top-item.xai-selected {
  border-color: var(--jp-brand-color1, #1976d2);
  background: var(--jp-layout-color2, #e8f0fe);
}
.xai-explorer .xai-top-label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.xai-explorer .xai-top-prob { font-variant-numeric: tabular-nums; color: var(--jp-ui-font-color2, #555); }
.xai-explorer .xai-top-track { grid-column: 1 / span 2; background: var(--jp-layout-color3, #ddd); border-radius: 2px; overflow: hidden; }
.xai-explorer .xai-top-bar { display: block; height: 100%; background: var(--jp-brand-color1, #1976d2); }
.xai-explorer .xai-inline-message { color: var(--jp-error-color1, #b00020); font-size: 0.9em; }
.xai-explorer .xai-inline-message:empty { display: none; }

.xai-compare {
  display: flex; flex-direction: column; gap: 8px; padding: 4px;
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1, #222);
}
.xai-compare .xai-compare-title { font-weight: 600; font-size: 1.1em; }
.xai-compare .xai-display { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 6px 16px; }
.xai-compare .xai-display > .xai-row { flex: 0 1 180px; }
.xai-compare .xai-compare-grid {
  --xai-columns: 3;
  display: grid; gap: 8px;
  grid-template-columns: repeat(auto-fill, minmax(min(180px, 100%), 1fr));
  max-width: calc(var(--xai-columns) * 188px - 7px);
}
.xai-compare .xai-cell {
  display: flex; flex-direction: column; gap: 3px; min-width: 0; padding: 3px; margin: 0;
  font: inherit; color: inherit; text-align: left; cursor: pointer;
  background: transparent; border: 1px solid transparent; border-radius: 4px;
}
.xai-compare .xai-cell:hover { background: var(--jp-layout-color2, #f0f0f0); }
.xai-compare .xai-cell.selected {
  outline: 2px solid var(--jp-brand-color1, #1976d2); outline-offset: 0;
  background: var(--jp-layout-color2, #e8f0fe);
}
.xai-compare .xai-cell-canvas {
  display: block; width: 100%; height: auto; border-radius: 3px;
  background: var(--jp-layout-color2, #eee);
}
.xai-compare .xai-cell-title {
  font-size: 0.9em; display: block; max-width: 100%; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}
.xai-compare .xai-cell-error {
  font-size: 0.85em; white-space: pre-wrap; overflow-wrap: anywhere;
  color: var(--jp-error-color1, #b00020);
}
`;

const STYLE_ID = "xai-widgets-explorer-style";

/** Add the widget CSS to the document once. */
export function injectStyle(doc: Document): void {
  if (doc.getElementById(STYLE_ID)) return;
  const style = doc.createElement("style");
  style.id = STYLE_ID;
  style.textContent = css;
  doc.head.append(style);
}
