// Geometry of the virtualised result list: which rows exist in the DOM for a scroll position.

/** Height of one result row in pixels; the stylesheet reads it from the list's --row-h. */
export const ROW_HEIGHT = 56;

export type RowWindow = { start: number; end: number; offset: number; total: number };

/** Rows [start, end) to render, `offset` pixels from the top of a `total`-pixel-high list. */
export function visibleRange(
  scrollTop: number,
  viewport: number,
  count: number,
  rowHeight = ROW_HEIGHT,
  overscan = 6,
): RowWindow {
  const total = count * rowHeight;
  if (count === 0 || rowHeight <= 0) return { start: 0, end: 0, offset: 0, total };
  const top = Math.min(Math.max(0, scrollTop), Math.max(0, total - viewport));
  const first = Math.floor(top / rowHeight);
  const last = Math.ceil((top + Math.max(0, viewport)) / rowHeight);
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, last + overscan);
  return { start, end, offset: start * rowHeight, total };
}

/** The scrollTop that brings row `index` fully into view, moving as little as possible. */
export function scrollToReveal(index: number, scrollTop: number, viewport: number, rowHeight = ROW_HEIGHT): number {
  const top = index * rowHeight;
  const bottom = top + rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewport) return Math.max(0, bottom - viewport);
  return scrollTop;
}

/** Whether the rendered window is close enough to the end to fetch the next page. */
export function nearEnd(end: number, count: number, threshold = 40): boolean {
  return count - end <= threshold;
}
