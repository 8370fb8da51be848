import type { Pixels } from "./types";

/** Where a page of channels sits: `columns` tiles a row, each `tile` pixels square plus a 1-pixel gap. */
export interface PageLayout {
  channels: number[];
  columns: number;
  rows: number;
  tile: number;
  scale: number;
}

const GAP = 1;
const TILE_TARGET = 48;

/** The layout of page `page` of `order` for h×w channels: a whole-pixel scale up to about 48 px a tile. */
export function pageLayout(order: number[], page: number, pageSize: number, columns: number, h: number, w: number): PageLayout {
  const size = Math.max(1, Math.floor(pageSize) || 1);
  const channels = order.slice(page * size, (page + 1) * size);
  const cols = Math.max(1, Math.min(Math.floor(columns) || 1, channels.length || 1));
  const scale = Math.max(1, Math.floor(TILE_TARGET / Math.max(h, w, 1)));
  return { channels, columns: cols, rows: Math.max(1, Math.ceil(channels.length / cols)), tile: Math.max(h, w) * scale, scale };
}

/**
 * Draw a page of the atlas (C×h×w uint8, each channel already scaled to 0–255) as one RGBA
 * picture: each channel coloured through the colormap's table, enlarged by whole pixels.
 */
export function drawAtlasPage(atlas: Uint8Array, h: number, w: number, layout: PageLayout, table: Uint8Array): Pixels {
  const width = layout.columns * (layout.tile + GAP) - GAP;
  const height = layout.rows * (layout.tile + GAP) - GAP;
  const data = new Uint8ClampedArray(width * height * 4);
  const s = layout.scale;
  layout.channels.forEach((channel, slot) => {
    const left = (slot % layout.columns) * (layout.tile + GAP);
    const top = Math.floor(slot / layout.columns) * (layout.tile + GAP);
    const base = channel * h * w;
    for (let y = 0; y < h * s; y++) {
      const row = base + Math.floor(y / s) * w;
      let out = ((top + y) * width + left) * 4;
      for (let x = 0; x < w * s; x++, out += 4) {
        const t = atlas[row + Math.floor(x / s)] * 3;
        data[out] = table[t];
        data[out + 1] = table[t + 1];
        data[out + 2] = table[t + 2];
        data[out + 3] = 255;
      }
    }
  });
  return { width, height, data };
}

/** The channel under a point of the page picture (picture pixels), or -1 in a gap or past the end. */
export function channelAt(layout: PageLayout, x: number, y: number): number {
  const col = Math.floor(x / (layout.tile + GAP));
  const row = Math.floor(y / (layout.tile + GAP));
  if (col < 0 || col >= layout.columns || row < 0) return -1;
  if (x - col * (layout.tile + GAP) >= layout.tile || y - row * (layout.tile + GAP) >= layout.tile) return -1;
  return layout.channels[row * layout.columns + col] ?? -1;
}

/** One channel of the atlas as little-endian float32 bytes in 0–1 (a map the Compare cell can draw). */
export function channelMap(atlas: Uint8Array, channel: number, h: number, w: number): DataView {
  const values = new Float32Array(h * w);
  const base = channel * h * w;
  for (let i = 0; i < h * w; i++) values[i] = atlas[base + i] / 255;
  return new DataView(values.buffer);
}
