/** Result of reading the class picker's text. */
export type ClassQuery = { ok: true; index: number } | { ok: false; message: string };

/**
 * Read a class from the picker: a class index ("281"), the datalist form ("281: tabby cat"),
 * or a class name (exact, ignoring case and surrounding spaces).
 */
export function parseClassQuery(text: string, labels: readonly string[]): ClassQuery {
  const query = text.trim();
  if (query === "") return { ok: false, message: "type a class index or name" };
  if (labels.length === 0) return { ok: false, message: "no class list yet" };
  const numbered = /^(\d+)\s*(?::.*)?$/.exec(query);
  if (numbered) {
    const index = Number(numbered[1]);
    if (index < labels.length) return { ok: true, index };
    return { ok: false, message: `no class ${index} (0–${labels.length - 1})` };
  }
  const wanted = query.toLowerCase();
  const index = labels.findIndex((label) => label.trim().toLowerCase() === wanted);
  if (index >= 0) return { ok: true, index };
  return { ok: false, message: `no class named "${query}"` };
}
