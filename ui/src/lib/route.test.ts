import { describe, expect, it } from "vitest";
import { historyHash, packagesHash, parseRoute } from "./route";

describe("routes", () => {
  it.each([
    ["", { view: "history", id: null }],
    ["#/history", { view: "history", id: null }],
    ["#/history/", { view: "history", id: null }],
    ["#/history?id=abc-123", { view: "history", id: "abc-123" }],
    ["#/history?id=", { view: "history", id: null }],
    ["#/history?id=a%2Fb%20c", { view: "history", id: "a/b c" }],
    ["#/settings", { view: "settings" }],
    ["#/packages", { view: "packages", name: null }],
    ["#/packages?name=python-requests", { view: "packages", name: "python-requests" }],
    ["#/packages?name=", { view: "packages", name: null }],
    ["#/nowhere", { view: "history", id: null }],
  ])("%j", (hash, route) => {
    expect(parseRoute(hash)).toEqual(route);
  });

  it("builds hashes that parse back", () => {
    const id = "2025-abc/def?x=1&y";
    expect(parseRoute(historyHash(id))).toEqual({ view: "history", id });
    expect(historyHash(null)).toBe("#/history");
    const name = "odd&name=x";
    expect(parseRoute(packagesHash(name))).toEqual({ view: "packages", name });
    expect(packagesHash(null)).toBe("#/packages");
  });
});
