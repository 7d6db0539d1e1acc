// The history page's search form and what it means: the `HistoryQuery` sent to the shell, and
// the same filters applied client-side to messages arriving live.
import type { Hit, HistoryQuery } from "./bindings";

export const PAGE_SIZE = 100;

export const SEVERITIES = { any: null, info: 20, warning: 30, error: 40 } as const;
export type SeverityChoice = keyof typeof SEVERITIES;

const HOUR_MS = 3_600_000;
export const RANGES = { any: null, "1h": HOUR_MS, "24h": 24 * HOUR_MS, "7d": 7 * 24 * HOUR_MS, "30d": 30 * 24 * HOUR_MS } as const;
export type RangeChoice = keyof typeof RANGES;

/** What the user typed and picked, exactly as bound to the inputs. */
export type SearchForm = {
  text: string;
  source: string;
  severity: SeverityChoice;
  user: string;
  package: string;
  topic: string;
  range: RangeChoice;
  unreadOnly: boolean;
};

export function emptyForm(): SearchForm {
  return { text: "", source: "", severity: "any", user: "", package: "", topic: "", range: "any", unreadOnly: false };
}

/** Trimmed text, or null when nothing is left: the shell treats null as "no filter". */
export function clean(value: string): string | null {
  const t = value.trim();
  return t.length > 0 ? t : null;
}

export function rangeSince(range: RangeChoice, now: Date): string | null {
  const span = RANGES[range];
  return span === null ? null : new Date(now.getTime() - span).toISOString();
}

export function buildQuery(form: SearchForm, now: Date, limit = PAGE_SIZE): HistoryQuery {
  return {
    text: clean(form.text),
    topic: clean(form.topic),
    user: clean(form.user),
    package: clean(form.package),
    source: clean(form.source),
    severity_min: SEVERITIES[form.severity] ?? null,
    since: rangeSince(form.range, now),
    until: null,
    unread_only: form.unreadOnly,
    before: null,
    limit,
  };
}

/** True when the form would narrow the history at all (Esc then has something to clear). */
export function isFiltered(form: SearchForm): boolean {
  const empty = emptyForm();
  return (Object.keys(empty) as (keyof SearchForm)[]).some((k) =>
    typeof form[k] === "string" ? (form[k] as string).trim() !== empty[k] : form[k] !== empty[k],
  );
}

/** A stable key of the query's meaning, ignoring whitespace the shell ignores too. */
export function formKey(form: SearchForm): string {
  return JSON.stringify(buildQuery(form, new Date(0)));
}

/**
 * AMQP topic matching as the broker and the history search do it: words split on ".",
 * `*` matches exactly one word, `#` zero or more.
 */
export function topicMatches(pattern: string, topic: string): boolean {
  const p = pattern.split(".");
  const t = topic.split(".");
  // can[i][j]: pattern words from i match topic words from j; filled from the end.
  const can: boolean[][] = Array.from({ length: p.length + 1 }, () => new Array<boolean>(t.length + 1).fill(false));
  can[p.length]![t.length] = true;
  for (let i = p.length - 1; i >= 0; i--) {
    for (let j = t.length; j >= 0; j--) {
      const w = p[i];
      const row = can[i]!;
      const next = can[i + 1]!;
      if (w === "#") {
        row[j] = next[j]! || (j < t.length && row[j + 1]!);
      } else if (j < t.length && (w === "*" || w === t[j])) {
        row[j] = next[j + 1]!;
      }
    }
  }
  return can[0]![0]!;
}

export type LiveVerdict = "show" | "hide" | "unknown";

/**
 * Whether a message that just arrived belongs in the current result list. Structured filters are
 * checked exactly as the shell does; full text cannot be, so a text query answers "unknown" for
 * messages that pass the other filters.
 */
export function liveVerdict(hit: Hit, q: HistoryQuery): LiveVerdict {
  if (q.source !== null && hit.source !== q.source) return "hide";
  if (q.severity_min !== null && hit.severity < q.severity_min) return "hide";
  if (q.user !== null && !hit.users.includes(q.user)) return "hide";
  if (q.package !== null && !hit.packages.includes(q.package)) return "hide";
  if (q.topic !== null && !topicMatches(q.topic, hit.topic)) return "hide";
  if (q.unread_only && hit.read) return "hide";
  const sent = Date.parse(hit.sent_at);
  if (q.since !== null && !(sent >= Date.parse(q.since))) return "hide";
  if (q.until !== null && !(sent <= Date.parse(q.until))) return "hide";
  return q.text !== null ? "unknown" : "show";
}
