// Keyboard shortcuts of the history page, decided from the key and where the focus is, so the
// rules are testable without a DOM.

export type FocusKind = "search" | "field" | "control" | "list" | "none";
export type KeyAction = "focus-search" | "up" | "down" | "open" | "clear-search" | "close-detail";
export type Keystroke = { key: string; ctrlKey: boolean; altKey: boolean; metaKey: boolean };

/** The part of an element the classification needs. */
export type FocusTarget = { tagName: string; type?: string; role?: string | null; isSearch?: boolean; isList?: boolean } | null;

export function focusKind(el: FocusTarget): FocusKind {
  if (el === null) return "none";
  if (el.isSearch) return "search";
  if (el.isList) return "list";
  const tag = el.tagName.toUpperCase();
  if (tag === "TEXTAREA" || tag === "SELECT") return "field";
  if (tag === "INPUT") {
    const type = (el.type ?? "text").toLowerCase();
    return type === "checkbox" || type === "radio" || type === "button" || type === "submit" ? "control" : "field";
  }
  if (tag === "BUTTON" || tag === "A" || el.role === "button") return "control";
  return "none";
}

export function keyAction(k: Keystroke, focus: FocusKind): KeyAction | null {
  if (k.ctrlKey || k.altKey || k.metaKey) return null;
  switch (k.key) {
    case "/":
      // In a text field "/" is just a character (topic patterns, URLs).
      return focus === "search" || focus === "field" ? null : "focus-search";
    case "ArrowDown":
    case "ArrowUp":
      // Other fields keep their arrows: selects cycle options, facet inputs show suggestions.
      if (focus === "field") return null;
      return k.key === "ArrowDown" ? "down" : "up";
    case "Enter":
      // Buttons and checkboxes act on Enter themselves.
      return focus === "search" || focus === "list" || focus === "none" ? "open" : null;
    case "Escape":
      return focus === "search" ? "clear-search" : "close-detail";
    default:
      return null;
  }
}

/** Selection index after moving by `delta`, clamped to the list; with nothing selected, the first row. */
export function moveSelection(current: number, delta: number, count: number): number {
  if (count === 0) return -1;
  if (current < 0) return 0;
  return Math.min(count - 1, Math.max(0, current + delta));
}
