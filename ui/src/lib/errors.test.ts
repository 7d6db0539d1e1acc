import { describe, expect, it } from "vitest";
import { describeError, isStarting, toCommandError } from "./errors";

describe("errors", () => {
  it("keeps a CommandError as it is", () => {
    expect(toCommandError({ kind: "invalid", message: "bad TOML at line 3" })).toEqual({ kind: "invalid", message: "bad TOML at line 3" });
  });

  it("wraps other rejections as internal errors", () => {
    expect(toCommandError(new Error("boom"))).toEqual({ kind: "internal", message: "boom" });
    expect(toCommandError("command search not allowed")).toEqual({ kind: "internal", message: "command search not allowed" });
    expect(toCommandError(undefined)).toEqual({ kind: "internal", message: "Unknown error" });
    expect(toCommandError({ kind: 3, message: "x" }).kind).toBe("internal");
    expect(toCommandError({ kind: "from-the-future", message: "x" })).toEqual({ kind: "internal", message: "x" });
    expect(describeError({ kind: "bus", message: "connection refused" })).toBe("connection refused");
    expect(isStarting({ kind: "starting", message: "Herald is starting" })).toBe(true);
    expect(isStarting({ kind: "bus", message: "starting" })).toBe(false);
  });
});
