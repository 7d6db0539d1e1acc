// Builders for the shapes tests pass around, with fields a test does not care about filled in.
import type { Hit, HistoryQuery } from "./bindings";

export function hit(key: number, fields: Partial<Hit> = {}): Hit {
  return {
    key,
    id: `id-${key}`,
    topic: "org.fedoraproject.prod.bodhi.update.comment",
    exchange: "amq.topic",
    sent_at: new Date(Date.UTC(2025, 0, 1, 12) + key * 1000).toISOString(),
    severity: 20,
    source: "bodhi",
    kind: "update.comment",
    summary: `message ${key}`,
    url: null,
    users: [],
    packages: [],
    agent: null,
    rule: null,
    action: "history",
    read: false,
    backfilled: false,
    ...fields,
  };
}

export function query(fields: Partial<HistoryQuery> = {}): HistoryQuery {
  return {
    text: null,
    topic: null,
    user: null,
    package: null,
    source: null,
    severity_min: null,
    since: null,
    until: null,
    unread_only: false,
    before: null,
    limit: 100,
    ...fields,
  };
}
