// Splits text into plain and highlighted segments for search-term highlighting. Views render
// each segment as text (highlighted ones inside <mark>), so no markup is ever built from data.

export type Segment = { text: string; mark: boolean };

/**
 * Case-insensitive, overlapping and adjacent matches merged into one highlighted segment.
 * Lower-casing can change a string's length ("İ" becomes two code units), so matching runs on
 * the lower-cased text and maps positions back to the original characters.
 */
export function splitHighlights(text: string, terms: readonly string[]): Segment[] {
  if (text.length === 0) return [];
  const needles = [...new Set(terms.map((t) => t.toLowerCase()).filter((t) => t.trim().length > 0))];
  if (needles.length === 0) return [{ text, mark: false }];

  // lower[k] comes from the character starting at text[from[k]].
  let lower = "";
  const from: number[] = [];
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i) ?? 0;
    const ch = String.fromCodePoint(cp);
    const low = ch.toLowerCase();
    for (let k = 0; k < low.length; k++) from.push(i);
    lower += low;
    i += ch.length;
  }

  // Coverage over original indices.
  const marked = new Uint8Array(text.length);
  for (const needle of needles) {
    for (let at = lower.indexOf(needle); at !== -1; at = lower.indexOf(needle, at + 1)) {
      const start = from[at]!;
      // The match ends inside the original character its last lower-case unit came from.
      const end = nextCharEnd(text, from[at + needle.length - 1]!);
      marked.fill(1, start, end);
    }
  }

  const segments: Segment[] = [];
  let runStart = 0;
  for (let i = 1; i <= text.length; i++) {
    if (i === text.length || marked[i] !== marked[runStart]) {
      segments.push({ text: text.slice(runStart, i), mark: marked[runStart] === 1 });
      runStart = i;
    }
  }
  return segments;
}

function nextCharEnd(text: string, i: number): number {
  const cp = text.codePointAt(i);
  return cp === undefined ? text.length : i + String.fromCodePoint(cp).length;
}
