import { describe, expect, it } from "vitest";
import type { Facets } from "./bindings";
import { facetQuery, severityOf, sourceOptions, suggestions } from "./facets";
import { query } from "./testdata";

const facets = (over: Partial<Facets> = {}): Facets => ({
  sources: [
    { value: "bodhi", count: 3 },
    { value: "koji", count: 12 },
    { value: "anitya", count: 3 },
  ],
  severities: [],
  users: [
    { value: "zoe", count: 1 },
    { value: "alice", count: 9 },
    { value: "", count: 4 },
  ],
  packages: [],
  scanned: 18,
  complete: true,
  ...over,
});

describe("sourceOptions", () => {
  it("lists 'any' then sources busiest first with their counts", () => {
    expect(sourceOptions(facets(), "")).toEqual([
      { value: "", label: "Any source" },
      { value: "koji", label: "koji (12)" },
      { value: "anitya", label: "anitya (3)" },
      { value: "bodhi", label: "bodhi (3)" },
    ]);
  });

  it("keeps the selected source selectable when it has no count", () => {
    const opts = sourceOptions(facets(), "copr");
    expect(opts.at(-1)).toEqual({ value: "copr", label: "copr (0)" });
    expect(sourceOptions(null, "copr").map((o) => o.value)).toEqual(["", "copr"]);
  });

  it("marks counts as lower bounds when the scan was cut short", () => {
    expect(sourceOptions(facets({ complete: false }), "")[1]?.label).toBe("koji (12+)");
  });
});

describe("suggestions", () => {
  it("orders by count, drops blanks and caps the list", () => {
    expect(suggestions(facets().users)).toEqual(["alice", "zoe"]);
    expect(suggestions(facets().users, 1)).toEqual(["alice"]);
    expect(suggestions(undefined)).toEqual([]);
  });
});

describe("facetQuery", () => {
  it("counts across sources and ignores the page cursor, keeping other filters", () => {
    const q = facetQuery(query({ source: "koji", before: 40, text: "failed", user: "alice" }));
    expect(q.source).toBeNull();
    expect(q.before).toBeNull();
    expect(q.text).toBe("failed");
    expect(q.user).toBe("alice");
  });
});

describe("severityOf", () => {
  it.each([
    [10, "debug"],
    [19, "debug"],
    [20, "info"],
    [29, "info"],
    [30, "warning"],
    [40, "error"],
    [50, "error"],
  ])("%i is %s", (level, label) => {
    expect(severityOf(level).label).toBe(label);
  });
});
