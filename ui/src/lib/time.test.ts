import { describe, expect, it } from "vitest";
import { absoluteTime, relativeTime } from "./time";

describe("relativeTime", () => {
  const now = new Date("2025-03-10T12:00:00Z");
  it.each([
    ["2025-03-10T11:59:30Z", "just now"],
    ["2025-03-10T12:05:00Z", "just now"],
    ["2025-03-10T11:55:00Z", "5 min ago"],
    ["2025-03-10T09:00:00Z", "3 h ago"],
    ["2025-03-08T11:00:00Z", "2 d ago"],
    ["2024-12-01T00:00:00Z", "2024-12-01"],
    ["not a date", "not a date"],
  ])("%s → %s", (iso, text) => {
    expect(relativeTime(iso, now)).toBe(text);
  });

  it("leaves unparsable absolute times as they came", () => {
    expect(absoluteTime("garbage")).toBe("garbage");
    expect(absoluteTime("2025-03-10T12:00:00Z")).toMatch(/2025/);
  });
});
