import { describe, expect, it } from "vitest";
import { splitHighlights, type Segment } from "./highlight";

const marked = (segs: Segment[]) => segs.filter((s) => s.mark).map((s) => s.text);
const joined = (segs: Segment[]) => segs.map((s) => s.text).join("");

describe("splitHighlights", () => {
  it("returns the text as one plain segment without terms", () => {
    expect(splitHighlights("koji build failed", [])).toEqual([{ text: "koji build failed", mark: false }]);
    expect(splitHighlights("koji", ["", "  "])).toEqual([{ text: "koji", mark: false }]);
    expect(splitHighlights("", ["koji"])).toEqual([]);
  });

  it("matches case-insensitively and keeps the original case", () => {
    expect(splitHighlights("Build FAILED for Koji", ["failed", "KOJI"])).toEqual([
      { text: "Build ", mark: false },
      { text: "FAILED", mark: true },
      { text: " for ", mark: false },
      { text: "Koji", mark: true },
    ]);
  });

  it("marks every occurrence, including ones that overlap", () => {
    expect(marked(splitHighlights("aaa-aa", ["aa"]))).toEqual(["aaa", "aa"]);
    expect(marked(splitHighlights("one two one", ["one"]))).toEqual(["one", "one"]);
  });

  it("merges overlapping and adjacent terms into one mark", () => {
    expect(splitHighlights("python-requests", ["python-re", "requests"])).toEqual([{ text: "python-requests", mark: true }]);
    expect(splitHighlights("foobar baz", ["foo", "bar"])).toEqual([
      { text: "foobar", mark: true },
      { text: " baz", mark: false },
    ]);
  });

  it("highlights phrases with spaces", () => {
    expect(marked(splitHighlights("the build failed again", ["build failed"]))).toEqual(["build failed"]);
  });

  it("keeps markup as plain text: segments only cut, never add", () => {
    const text = '<img src=x onerror="alert(1)"> & <b>bold</b>';
    const segs = splitHighlights(text, ["img", "b"]);
    expect(joined(segs)).toBe(text);
    expect(marked(segs)).toEqual(["img", "b", "b", "b"]);
  });

  it("maps positions back when lower-casing changes lengths", () => {
    // "İ" lower-cases to two code units; the mark must still cover the right characters.
    const segs = splitHighlights("İstanbul koji", ["koji"]);
    expect(joined(segs)).toBe("İstanbul koji");
    expect(marked(segs)).toEqual(["koji"]);
    expect(marked(splitHighlights("XİY", ["i̇"]))).toEqual(["İ"]);
  });

  it("never splits a surrogate pair", () => {
    const segs = splitHighlights("🎉 koji 🎉", ["koji"]);
    expect(segs).toEqual([
      { text: "🎉 ", mark: false },
      { text: "koji", mark: true },
      { text: " 🎉", mark: false },
    ]);
  });

  it("always reproduces the input exactly", () => {
    const texts = ["Koji build nodejs-1.2-3.fc42 FAILED", "ÅÄÖ åäö ß ẞ", "a.b.c*d", "   ", "x"];
    const terms = ["a", "ö", "ss", "fail", "c*", " ", "ẞ"];
    for (const t of texts) expect(joined(splitHighlights(t, terms))).toBe(t);
  });
});
