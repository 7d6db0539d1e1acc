// The page's only door to the Tauri shell: every command of the IPC contract, typed, with
// rejections normalised to `CommandError`. No other module imports @tauri-apps/api.
import { Channel, invoke } from "@tauri-apps/api/core";
import type {
  AppInfo,
  ConnectionSettings,
  DryRun,
  Facets,
  HistoryQuery,
  LiveEvent,
  MessageDetail,
  PackageSummary,
  Page,
  SaveReport,
  SecretKind,
  Settings,
  Status,
  TestResult,
  TimelineEvent,
  Typed,
  Window as WindowName,
} from "./bindings";
import { toCommandError } from "./errors";

declare global {
  interface Window {
    __TAURI_INTERNALS__?: unknown;
  }
}

/** True inside the Herald shell; false when the page is opened in a plain browser. */
export function inShell(): boolean {
  return typeof window !== "undefined" && window.__TAURI_INTERNALS__ !== undefined;
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  if (!inShell()) {
    throw { kind: "internal", message: "This page needs the Herald app; it cannot run in a browser." };
  }
  try {
    return await invoke<T>(command, args);
  } catch (err) {
    throw toCommandError(err);
  }
}

export const appInfo = () => call<AppInfo>("app_info");
export const search = (query: HistoryQuery) => call<Page>("search", { query });
export const facets = (query: HistoryQuery) => call<Facets>("facets", { query });
export const highlightTerms = (text: string) => call<string[]>("highlight_terms", { text });
export const message = (id: string) => call<MessageDetail | null>("message", { id });
export const markRead = (ids: string[]) => call<number>("mark_read", { ids });
export const markAllRead = () => call<number>("mark_all_read");
/** The packages the profile covers, the one most in need of its packager first. */
export const packages = () => call<PackageSummary[]>("packages");
export const packageTimeline = (name: string) => call<TimelineEvent[]>("package_timeline", { name });
export const status = () => call<Status>("status");
export const openLink = (url: string) => call<void>("open_link", { url });
export const openWindow = (which: WindowName) => call<void>("open_window", { which });
export const autostart = () => call<boolean>("autostart");
export const setAutostart = (enabled: boolean) => call<void>("set_autostart", { enabled });
export const getSettings = () => call<Settings>("get_settings");
export const saveSettings = (settings: Settings) => call<SaveReport>("save_settings", { settings });
/** Stores a secret bound to the address `connection` names (or deletes it, with `null`). */
export const setSecret = (connection: ConnectionSettings, kind: SecretKind, value: string | null) =>
  call<void>("set_secret", { connection, kind, value });
/** The stored secrets are used only when `connection` is the saved one; `typed` ones first. */
export const testConnection = (connection: ConnectionSettings, typed: Typed) =>
  call<TestResult>("test_connection", { connection, typed });
export const dryRun = (rulesToml: string, limit: number) => call<DryRun>("dry_run", { rulesToml, limit });

/**
 * Subscribes to newly stored messages and status changes. The shell keeps pushing until the
 * window closes; the returned promise settles once the subscription is registered.
 */
export async function live(onEvent: (event: LiveEvent) => void): Promise<void> {
  if (!inShell()) {
    throw { kind: "internal", message: "Live updates need the Herald app." };
  }
  const channel = new Channel<LiveEvent>();
  channel.onmessage = onEvent;
  await call<void>("live", { channel });
}
