// Turns whatever a rejected command produced into the contract's `CommandError`, so views show
// a message and branch on a kind, never on error text.
import type { CommandError, ErrorKind } from "./bindings";

const KINDS: readonly ErrorKind[] = ["config", "invalid", "history", "bus", "secret", "starting", "internal"];

function isKind(k: unknown): k is ErrorKind {
  return typeof k === "string" && (KINDS as readonly string[]).includes(k);
}

export function toCommandError(err: unknown): CommandError {
  if (typeof err === "object" && err !== null) {
    const { kind, message } = err as { kind?: unknown; message?: unknown };
    if (typeof message === "string" && typeof kind === "string") {
      // A kind this page does not know yet is still an error worth showing.
      return { kind: isKind(kind) ? kind : "internal", message };
    }
    if (err instanceof Error) {
      return { kind: "internal", message: err.message };
    }
  }
  if (typeof err === "string" && err.length > 0) {
    // The IPC bridge rejects with a bare string when a command is unknown or denied.
    return { kind: "internal", message: err };
  }
  return { kind: "internal", message: "Unknown error" };
}

export function describeError(err: unknown): string {
  return toCommandError(err).message;
}

/** Herald's backend is still starting: the same request will work shortly. */
export function isStarting(err: unknown): boolean {
  return toCommandError(err).kind === "starting";
}
