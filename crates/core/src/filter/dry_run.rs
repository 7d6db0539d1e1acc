//! Dry runs: what a set of rules would have done to the stored history — how many messages
//! each action and each rule would take, with the newest kept messages as examples — without
//! changing anything. The settings window previews draft rules with [`dry_run()`];
//! `herald rules test` builds its before/after comparison on [`dry_run_set`].

use super::{Action, Decision, Profile, RuleSet, RuleSpec, Subject};
use crate::error::{FilterError, HistoryError};
use crate::history::{HistoryStore, Hit, SearchQuery};
use crate::record::Stored;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// How many example messages [`dry_run()`] returns.
pub const DRY_RUN_SAMPLES: usize = 20;

/// What the rules would do to the messages read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DryRun {
    /// Messages read, newest first.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub scanned: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub notify: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub history: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub drop: u64,
    /// Every enabled rule in evaluation order with the messages it decides (0 included);
    /// messages no rule matches are the rest of `scanned`.
    pub by_rule: Vec<RuleCount>,
    /// The newest messages the rules keep (notify or history), newest first.
    pub samples: Vec<DryRunSample>,
}

/// How many messages one rule decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RuleCount {
    pub rule: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: u64,
}

/// One stored message and what the rules would do to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DryRunSample {
    /// As stored (its `action` and `rule` are what happened on arrival).
    pub hit: Hit,
    /// What the rules under test would do.
    pub action: Action,
    pub rule: Option<String>,
}

/// Which stored messages a dry run reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DryRunScope {
    /// Only messages sent at or after this time.
    pub since: Option<OffsetDateTime>,
    /// At most this many, newest first.
    pub limit: Option<usize>,
    /// How many kept messages to return as examples.
    pub samples: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum DryRunError {
    #[error(transparent)]
    Rules(#[from] FilterError),
    #[error(transparent)]
    History(#[from] HistoryError),
}

/// Runs `rules` (one connection's effective rules, in evaluation order) over the newest
/// `limit` stored messages, with [`DRY_RUN_SAMPLES`] examples.
pub async fn dry_run(
    rules: &[RuleSpec],
    profile: &Profile,
    unmatched: Action,
    store: &HistoryStore,
    limit: usize,
) -> Result<DryRun, DryRunError> {
    let set = RuleSet::compile(rules, profile, unmatched)?;
    let scope = DryRunScope {
        since: None,
        limit: Some(limit),
        samples: DRY_RUN_SAMPLES,
    };
    Ok(dry_run_set(&set, rules, store, &scope, |_, _| {}).await?)
}

/// Runs the compiled `set` (compiled from `rules`) over the stored messages in `scope`.
/// `each` sees every message with the set's decision, for callers that compare it with
/// something else.
pub async fn dry_run_set(
    set: &RuleSet,
    rules: &[RuleSpec],
    store: &HistoryStore,
    scope: &DryRunScope,
    mut each: impl FnMut(&Stored, &Decision),
) -> Result<DryRun, HistoryError> {
    let mut out = DryRun {
        scanned: 0,
        notify: 0,
        history: 0,
        drop: 0,
        by_rule: Vec::new(),
        samples: Vec::new(),
    };
    let mut by_rule: HashMap<Arc<str>, u64> = HashMap::new();
    let mut picked: Vec<(String, OffsetDateTime, Decision)> = Vec::new();
    let scanned = store
        .scan(scope.since, scope.limit, |s| {
            let decision = set.evaluate(&Subject::of(&s));
            match decision.action {
                Action::Notify => out.notify += 1,
                Action::History => out.history += 1,
                Action::Drop => out.drop += 1,
            }
            if let Some(rule) = &decision.rule {
                *by_rule.entry(Arc::clone(rule)).or_default() += 1;
            }
            if decision.action.keeps() && picked.len() < scope.samples {
                picked.push((s.msg.id.clone(), s.msg.sent_at, decision.clone()));
            }
            each(&s, &decision);
        })
        .await?;
    out.scanned = u64::try_from(scanned).unwrap_or(u64::MAX);
    out.by_rule = rules
        .iter()
        .filter(|r| !r.disabled)
        .map(|r| RuleCount {
            rule: r.id.clone(),
            count: by_rule.get(r.id.as_str()).copied().unwrap_or(0),
        })
        .collect();
    for (id, sent_at, decision) in picked {
        // A message deleted meanwhile (pruning) simply gives no example.
        if let Some(hit) = hit_of(store, &id, sent_at).await? {
            out.samples.push(DryRunSample {
                hit,
                action: decision.action,
                rule: decision.rule.as_deref().map(str::to_owned),
            });
        }
    }
    Ok(out)
}

/// The search result for one stored message, found among the messages of its send second
/// (row keys are ordered by send time, so this reads a handful of rows).
async fn hit_of(
    store: &HistoryStore,
    id: &str,
    sent_at: OffsetDateTime,
) -> Result<Option<Hit>, HistoryError> {
    const PAGE: u32 = 200;
    let mut query = SearchQuery {
        since: Some(sent_at),
        until: Some(sent_at),
        limit: PAGE,
        ..SearchQuery::default()
    };
    loop {
        let hits = store.search(&query).await?;
        if let Some(hit) = hits.iter().find(|h| h.id == id) {
            return Ok(Some(hit.clone()));
        }
        match hits.last() {
            Some(last) if hits.len() == PAGE as usize => query.before = Some(last.key),
            _ => return Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{Conditions, Names};
    use crate::message::{headers_from_json, Envelope, Message, Properties};
    use crate::record::Entry;
    use crate::sources::RenderContext;

    /// Message `m-<n>`, sent at `second`, naming `package`.
    fn entry(n: usize, second: i64, package: &str) -> Entry {
        let sent = OffsetDateTime::from_unix_timestamp(second)
            .expect("time")
            .format(&time::format_description::well_known::Rfc3339)
            .expect("format");
        let headers = serde_json::json!({
            "sent-at": sent,
            "fedora_messaging_schema": "base.message",
            "fedora_messaging_severity": 20,
            format!("fedora_messaging_rpm_{package}"): true,
        });
        let env = Envelope {
            exchange: "amq.topic".into(),
            routing_key: format!("org.x.prod.thing.{n}"),
            properties: Properties {
                message_id: Some(format!("m-{n}")),
                ..Properties::default()
            },
            headers: headers.as_object().map(headers_from_json),
            body: format!("{{\"n\":{n}}}").into_bytes(),
            received_at: OffsetDateTime::now_utc(),
        };
        Entry::new(Message::decode(env), &RenderContext::default())
    }

    async fn store_with(entries: &[Entry]) -> (tempfile::TempDir, HistoryStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = HistoryStore::open(&dir.path().join("h.db"), &RenderContext::default())
            .await
            .expect("open");
        store.insert_batch(entries).await.expect("insert");
        (dir, store)
    }

    fn rule(id: &str, action: Action, package: &str) -> RuleSpec {
        RuleSpec::new(
            id,
            action,
            Conditions {
                packages: Names::any_of([package]),
                ..Conditions::default()
            },
        )
    }

    #[tokio::test]
    async fn dry_run_counts_actions_and_rules_with_the_newest_kept_examples() {
        let entries: Vec<Entry> = (0..30)
            .map(|n| {
                let package = if n % 2 == 0 { "chromium" } else { "firefox" };
                entry(n, 1_700_000_000 + i64::try_from(n).expect("small"), package)
            })
            .collect();
        let (_dir, store) = store_with(&entries).await;
        let mut off = rule("off", Action::Notify, "firefox");
        off.disabled = true;
        let rules = [
            rule("chromium", Action::Notify, "chromium"),
            off,
            rule("firefox", Action::Drop, "firefox"),
        ];
        let run = dry_run(&rules, &Profile::default(), Action::History, &store, 100)
            .await
            .expect("dry run");
        assert_eq!(
            (run.scanned, run.notify, run.history, run.drop),
            (30, 15, 0, 15)
        );
        assert_eq!(
            run.by_rule,
            [
                RuleCount {
                    rule: "chromium".into(),
                    count: 15
                },
                RuleCount {
                    rule: "firefox".into(),
                    count: 15
                },
            ]
        );
        let ids: Vec<&str> = run.samples.iter().map(|s| s.hit.id.as_str()).collect();
        let want: Vec<String> = (0..30)
            .rev()
            .filter(|n| n % 2 == 0)
            .map(|n| format!("m-{n}"))
            .collect();
        assert_eq!(ids, want);
        for s in &run.samples {
            assert_eq!(
                (s.action, s.rule.as_deref()),
                (Action::Notify, Some("chromium"))
            );
            assert_eq!(s.hit.packages, ["chromium"]);
            // What happened on arrival, not what the draft would do.
            assert_eq!(s.hit.action, "history");
        }

        // The newest 10 only; nothing matches the draft: everything is unmatched.
        let run = dry_run(
            &rules[..1],
            &Profile::default(),
            Action::History,
            &store,
            10,
        )
        .await
        .expect("dry run");
        assert_eq!((run.scanned, run.notify, run.history), (10, 5, 5));
        assert_eq!(run.samples.len(), 10);
        assert_eq!(run.samples[0].hit.id, "m-29");
        assert_eq!(run.samples[0].rule, None);
    }

    #[tokio::test]
    async fn dry_run_examples_are_capped_and_found_in_crowded_seconds() {
        // 450 messages sent in the same second; only the 5 oldest are kept.
        let entries: Vec<Entry> = (0..450)
            .map(|n| entry(n, 1_700_000_000, if n < 5 { "chromium" } else { "firefox" }))
            .collect();
        let (_dir, store) = store_with(&entries).await;
        let rules = [rule("chromium", Action::Notify, "chromium")];
        let run = dry_run(&rules, &Profile::default(), Action::Drop, &store, 1000)
            .await
            .expect("dry run");
        assert_eq!((run.scanned, run.notify, run.drop), (450, 5, 445));
        let ids: Vec<&str> = run.samples.iter().map(|s| s.hit.id.as_str()).collect();
        assert_eq!(ids, ["m-4", "m-3", "m-2", "m-1", "m-0"]);

        let run = dry_run(&[], &Profile::default(), Action::History, &store, 1000)
            .await
            .expect("dry run");
        assert_eq!(run.samples.len(), DRY_RUN_SAMPLES);
        assert!(run.by_rule.is_empty());
        assert_eq!(run.history, 450);
    }

    #[tokio::test]
    async fn dry_run_refuses_rules_that_do_not_compile() {
        let (_dir, store) = store_with(&[]).await;
        let rules = [
            rule("same", Action::Notify, "a"),
            rule("same", Action::Drop, "b"),
        ];
        let err = dry_run(&rules, &Profile::default(), Action::Drop, &store, 10)
            .await
            .expect_err("duplicate ids");
        assert!(
            matches!(err, DryRunError::Rules(FilterError::DuplicateId(_))),
            "{err}"
        );
    }

    #[test]
    fn dry_run_serialises_as_the_ipc_contract_says() {
        let run = DryRun {
            scanned: 3,
            notify: 1,
            history: 1,
            drop: 1,
            by_rule: vec![RuleCount {
                rule: "r".into(),
                count: 1,
            }],
            samples: Vec::new(),
        };
        assert_eq!(
            serde_json::to_value(&run).expect("json"),
            serde_json::json!({
                "scanned": 3, "notify": 1, "history": 1, "drop": 1,
                "by_rule": [{ "rule": "r", "count": 1 }], "samples": []
            })
        );
    }
}
