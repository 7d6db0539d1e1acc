import { describe, expect, it } from "vitest";
import { focusKind, keyAction, moveSelection, type Keystroke } from "./keyboard";

describe("keyboard", () => {
  const key = (k: string, mods: Partial<Keystroke> = {}): Keystroke => ({ key: k, ctrlKey: false, altKey: false, metaKey: false, ...mods });

  it("classifies the focused element", () => {
    expect(focusKind(null)).toBe("none");
    expect(focusKind({ tagName: "INPUT", type: "search", isSearch: true })).toBe("search");
    expect(focusKind({ tagName: "INPUT", type: "text" })).toBe("field");
    expect(focusKind({ tagName: "input" })).toBe("field");
    expect(focusKind({ tagName: "SELECT" })).toBe("field");
    expect(focusKind({ tagName: "TEXTAREA" })).toBe("field");
    expect(focusKind({ tagName: "INPUT", type: "checkbox" })).toBe("control");
    expect(focusKind({ tagName: "BUTTON" })).toBe("control");
    expect(focusKind({ tagName: "DIV", isList: true })).toBe("list");
    expect(focusKind({ tagName: "DIV" })).toBe("none");
  });

  it("'/' focuses the search unless typing in a field", () => {
    expect(keyAction(key("/"), "none")).toBe("focus-search");
    expect(keyAction(key("/"), "list")).toBe("focus-search");
    expect(keyAction(key("/"), "search")).toBeNull();
    expect(keyAction(key("/"), "field")).toBeNull();
    expect(keyAction(key("/", { ctrlKey: true }), "none")).toBeNull();
  });

  it("arrows move the selection from the search box and the list, not from other fields", () => {
    expect(keyAction(key("ArrowDown"), "search")).toBe("down");
    expect(keyAction(key("ArrowUp"), "list")).toBe("up");
    expect(keyAction(key("ArrowDown"), "field")).toBeNull();
  });

  it("Enter opens, except on buttons and fields", () => {
    expect(keyAction(key("Enter"), "list")).toBe("open");
    expect(keyAction(key("Enter"), "search")).toBe("open");
    expect(keyAction(key("Enter"), "control")).toBeNull();
    expect(keyAction(key("Enter"), "field")).toBeNull();
  });

  it("Escape clears the search in the search box and closes the detail elsewhere", () => {
    expect(keyAction(key("Escape"), "search")).toBe("clear-search");
    expect(keyAction(key("Escape"), "list")).toBe("close-detail");
    expect(keyAction(key("Escape"), "field")).toBe("close-detail");
    expect(keyAction(key("a"), "none")).toBeNull();
  });

  it("moves the selection within bounds", () => {
    expect(moveSelection(-1, 1, 5)).toBe(0);
    expect(moveSelection(-1, -1, 5)).toBe(0);
    expect(moveSelection(0, -1, 5)).toBe(0);
    expect(moveSelection(3, 1, 5)).toBe(4);
    expect(moveSelection(4, 1, 5)).toBe(4);
    expect(moveSelection(9, -1, 5)).toBe(4);
    expect(moveSelection(2, 1, 0)).toBe(-1);
  });
});
