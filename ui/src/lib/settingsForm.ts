// The settings page's form model: `Settings` turned into the strings the inputs edit, and back,
// with every number and time checked before anything is sent to the shell.
import type { ConnectionSettings, Profile, Settings } from "./bindings";

export const PROFILE_FIELDS = ["users", "groups", "packages", "containers", "modules", "flatpaks", "follows"] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

export type ConnectionForm = {
  name: string;
  url: string;
  username: string;
  ca_cert: string;
  certfile: string;
  keyfile: string;
  has_password: boolean;
  has_key_passphrase: boolean;
};

export type SettingsForm = {
  connections: ConnectionForm[];
  profile: Record<ProfileField, string>;
  rules_toml: string;
  unmatched: Settings["unmatched"];
  notifyEnabled: boolean;
  digestSecs: string;
  ratePerMinute: string;
  quietStart: string;
  quietEnd: string;
  summaryAfterQuiet: boolean;
  retentionDays: string;
  retentionRows: string;
  catchUp: boolean;
  catchUpMax: string;
  datagrepperUrl: string;
  configPath: string;
  /** What the settings were read from, sent back as it came so the save can merge what changed in the file since. */
  base: string | null;
};

export type FieldError = { field: string; message: string };
export type Converted = { ok: true; settings: Settings } | { ok: false; errors: FieldError[] };

/** Items separated by commas or line breaks, trimmed, blanks and repeats dropped. */
export function splitList(text: string): string[] {
  const seen = new Set<string>();
  for (const part of text.split(/[,\n\r]+/)) {
    const item = part.trim();
    if (item.length > 0) seen.add(item);
  }
  return [...seen];
}

export function joinList(items: readonly string[]): string {
  return items.join(", ");
}

const U32_MAX = 4_294_967_295;

/** A whole number in [0, max] written in decimal digits, or an error message. */
export function parseCount(text: string, max = Number.MAX_SAFE_INTEGER): number | string {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return "must be a whole number (0 or more)";
  const n = Number(t);
  if (!Number.isSafeInteger(n) || n > max) return `must be at most ${max}`;
  return n;
}

/** "7:05" or "07:05" as "07:05"; null when it is no time of day. */
export function parseClock(text: string): string | null {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 23 || min > 59) return null;
  return `${String(h).padStart(2, "0")}:${m[2]}`;
}

/** "12h", " 3 d " as "12h", "3d": a whole number and one of s, m, h, d, w, as the config reads it; null otherwise. */
export function parseSpan(text: string): string | null {
  const m = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  return m ? `${m[1]}${m[2]}` : null;
}

/** Why `text` cannot be the bus archive's address, or null when it can (the shell checks the rest). */
export function archiveProblem(text: string): string | null {
  const t = text.trim();
  if (t === "") return "is empty";
  let url: URL;
  try {
    url = new URL(t);
  } catch {
    return "is not a web address (write it as https://host/path/)";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must start with http:// or https://";
  if (url.username !== "" || url.password !== "") return "must not hold a user or password";
  return null;
}

const orEmpty = (v: string | null) => v ?? "";

export function connectionToForm(c: ConnectionSettings): ConnectionForm {
  return {
    name: c.name,
    url: c.url,
    username: orEmpty(c.username),
    ca_cert: orEmpty(c.ca_cert),
    certfile: orEmpty(c.certfile),
    keyfile: orEmpty(c.keyfile),
    has_password: c.has_password,
    has_key_passphrase: c.has_key_passphrase,
  };
}

const orNull = (v: string) => {
  const t = v.trim();
  return t.length > 0 ? t : null;
};

export function connectionFromForm(c: ConnectionForm): ConnectionSettings {
  return {
    name: c.name,
    url: c.url.trim(),
    username: orNull(c.username),
    ca_cert: orNull(c.ca_cert),
    certfile: orNull(c.certfile),
    keyfile: orNull(c.keyfile),
    has_password: c.has_password,
    has_key_passphrase: c.has_key_passphrase,
  };
}

export function toForm(s: Settings): SettingsForm {
  const n = s.notifications;
  return {
    connections: s.connections.map(connectionToForm),
    // A list the shell leaves out is an empty one.
    profile: Object.fromEntries(PROFILE_FIELDS.map((f) => [f, joinList(s.profile[f] ?? [])])) as Record<ProfileField, string>,
    rules_toml: s.rules_toml,
    unmatched: s.unmatched,
    notifyEnabled: n.enabled,
    digestSecs: String(n.digest_window_secs),
    ratePerMinute: String(n.rate_limit_per_minute),
    quietStart: n.quiet_hours?.start ?? "",
    quietEnd: n.quiet_hours?.end ?? "",
    summaryAfterQuiet: n.summary_after_quiet,
    retentionDays: String(s.retention_days),
    retentionRows: String(s.retention_max_rows),
    catchUp: s.catch_up,
    catchUpMax: s.catch_up_max,
    datagrepperUrl: s.datagrepper_url,
    configPath: s.config_path,
    // A shell that sends none (older than the merge) saves over the file as it is.
    base: s.base ?? null,
  };
}

export function fromForm(f: SettingsForm): Converted {
  const errors: FieldError[] = [];
  const count = (field: string, label: string, text: string, max?: number): number => {
    const v = parseCount(text, max);
    if (typeof v === "string") {
      errors.push({ field, message: `${label} ${v}` });
      return 0;
    }
    return v;
  };
  const digest = count("notify-digest", "Digest window", f.digestSecs, U32_MAX);
  const rate = count("notify-rate", "Rate limit", f.ratePerMinute, U32_MAX);
  const days = count("retention-days", "Retention days", f.retentionDays, U32_MAX);
  const rows = count("retention-rows", "Maximum rows", f.retentionRows);

  let quiet: { start: string; end: string } | null = null;
  const qs = f.quietStart.trim();
  const qe = f.quietEnd.trim();
  if (qs !== "" || qe !== "") {
    const start = parseClock(qs);
    const end = parseClock(qe);
    if (start === null) errors.push({ field: "notify-quiet-start", message: "Quiet hours start must be a time like 22:00" });
    if (end === null) errors.push({ field: "notify-quiet-end", message: "Quiet hours end must be a time like 07:00" });
    if (start !== null && end !== null) quiet = { start, end };
  }

  const catchUpMax = parseSpan(f.catchUpMax);
  if (catchUpMax === null) errors.push({ field: "catch-up-max", message: "Longest gap filled by itself must be a length like 12h, 3d or 1w" });
  const archive = archiveProblem(f.datagrepperUrl);
  if (archive !== null) errors.push({ field: "archive-url", message: `Archive address ${archive}` });

  for (const c of f.connections) {
    if (c.url.trim() === "") errors.push({ field: `conn-url-${c.name}`, message: `Connection ${c.name}: the URL is empty` });
  }

  if (errors.length > 0) return { ok: false, errors };
  const profile = Object.fromEntries(PROFILE_FIELDS.map((k) => [k, splitList(f.profile[k])])) as Profile;
  return {
    ok: true,
    settings: {
      connections: f.connections.map(connectionFromForm),
      profile,
      rules_toml: f.rules_toml,
      unmatched: f.unmatched,
      notifications: {
        enabled: f.notifyEnabled,
        digest_window_secs: digest,
        rate_limit_per_minute: rate,
        quiet_hours: quiet,
        summary_after_quiet: f.summaryAfterQuiet,
      },
      retention_days: days,
      retention_max_rows: rows,
      catch_up: f.catchUp,
      catch_up_max: catchUpMax ?? "",
      datagrepper_url: f.datagrepperUrl.trim(),
      config_path: f.configPath,
      base: f.base,
    },
  };
}
