// Builders for the shapes tests pass around, with fields a test does not care about filled in.
import type { BranchView, Hit, HistoryQuery, PackageSummary, TimelineEvent } from "./bindings";

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

export function summary(name: string, fields: Partial<PackageSummary> = {}): PackageSummary {
  return {
    package: name,
    upstream: null,
    branches: [],
    ftbfs: null,
    behind_upstream: null,
    behind_since: null,
    fedora_version: null,
    changed_at: "2025-01-01T12:00:00Z",
    ...fields,
  };
}

export function branch(name: string, fields: Partial<BranchView> = {}): BranchView {
  return { branch: name, build: null, update: null, stable: null, ci: null, ...fields };
}

export function event(id: string, fields: Partial<TimelineEvent> = {}): TimelineEvent {
  return {
    id,
    sent_at: "2025-01-01T12:00:00Z",
    stage: "build",
    branch: null,
    version: null,
    nvr: null,
    state: null,
    summary: `event ${id}`,
    source: "koji",
    url: null,
    link_host: null,
    link_trusted: false,
    ...fields,
  };
}
