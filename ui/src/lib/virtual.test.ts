import { describe, expect, it } from "vitest";
import { nearEnd, scrollToReveal, visibleRange } from "./virtual";

describe("virtual list geometry", () => {
  it("renders only the rows in view plus overscan", () => {
    const w = visibleRange(56 * 100, 560, 100_000, 56, 5);
    expect(w).toEqual({ start: 95, end: 115, offset: 95 * 56, total: 100_000 * 56 });
  });

  it("clamps at both ends and handles empty lists", () => {
    expect(visibleRange(-50, 300, 10, 50, 2)).toEqual({ start: 0, end: 8, offset: 0, total: 500 });
    expect(visibleRange(10_000, 300, 10, 50, 2)).toEqual({ start: 2, end: 10, offset: 100, total: 500 });
    expect(visibleRange(0, 300, 0, 50)).toEqual({ start: 0, end: 0, offset: 0, total: 0 });
  });

  it("scrolls as little as needed to reveal a row", () => {
    expect(scrollToReveal(5, 0, 500, 50)).toBe(0); // already visible
    expect(scrollToReveal(12, 0, 500, 50)).toBe(150); // below: align bottom
    expect(scrollToReveal(2, 400, 500, 50)).toBe(100); // above: align top
  });

  it("asks for more near the end only", () => {
    expect(nearEnd(60, 100, 40)).toBe(true);
    expect(nearEnd(59, 100, 40)).toBe(false);
  });
});
