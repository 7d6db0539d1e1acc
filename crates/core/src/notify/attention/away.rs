//! "While you were away": what a catch-up fetched from the archive and a rule marks notify,
//! told once per source when the window is filled, instead of one notification per message
//! hours after the fact. The messages stay unread in the history, where the list is.

use super::text::{bound, label, BODY_MAX_CHARS, SUMMARY_MAX_CHARS};
use super::{Candidate, Planned};
use crate::notify::{Notification, Urgency};
use std::collections::BTreeMap;

/// Message summaries named in one digest.
const SUMMARIES_SHOWN: usize = 3;

/// One digest per source, in source order; `more` counts, per source, messages filled in
/// beyond those listed.
pub fn while_away(candidates: Vec<Candidate>, more: &BTreeMap<String, usize>) -> Vec<Planned> {
    let mut by_source: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    for c in candidates {
        by_source.entry(c.source.clone()).or_default().push(c);
    }
    by_source
        .into_iter()
        .map(|(source, cs)| {
            let n = cs.len() + more.get(&source).copied().unwrap_or(0);
            let title = format!(
                "While you were away: {} — {n} message{}",
                label(&source),
                if n == 1 { "" } else { "s" }
            );
            let mut lines: Vec<String> = cs
                .iter()
                .take(SUMMARIES_SHOWN)
                .map(|c| format!("• {}", crate::clean::one_line(c.summary.trim())))
                .collect();
            let shown = lines.len();
            if n > shown {
                lines.push(format!("and {} more in the history", n - shown));
            }
            // Never more than normal: these are hours old, and a critical one would stay
            // on screen until dismissed.
            let urgency = match cs.iter().map(|c| c.severity).max() {
                Some(s) if s >= 30 => Urgency::Normal,
                _ => Urgency::Low,
            };
            Planned {
                notification: Notification {
                    summary: bound(&title, SUMMARY_MAX_CHARS),
                    body: bound(&lines.join("\n"), BODY_MAX_CHARS),
                    icon: cs.first().map(|c| c.icon.clone()).unwrap_or_default(),
                    urgency,
                    replaces: None,
                    actions: Vec::new(),
                },
                slot: format!("away:{source}"),
                covers: cs.into_iter().map(|c| c.id).collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(id: &str, source: &str, summary: &str, severity: u8) -> Candidate {
        Candidate {
            id: id.to_owned(),
            source: source.to_owned(),
            kind: "build".to_owned(),
            summary: summary.to_owned(),
            details: String::new(),
            url: None,
            link_trusted: false,
            severity,
            icon: source.to_owned(),
            packages: Vec::new(),
            rule: None,
            outcome: None,
            thread: None,
        }
    }

    #[test]
    fn one_digest_per_source_naming_a_few() {
        let mut cs: Vec<Candidate> = (0..5)
            .map(|i| cand(&format!("k{i}"), "koji", &format!("build {i} failed"), 40))
            .collect();
        cs.push(cand("b1", "bodhi", "update pushed", 20));
        let more = BTreeMap::from([("koji".to_owned(), 10)]);
        let planned = while_away(cs, &more);
        assert_eq!(planned.len(), 2);
        let bodhi = &planned[0];
        assert!(
            bodhi.notification.summary.ends_with("1 message"),
            "{}",
            bodhi.notification.summary
        );
        assert_eq!(bodhi.notification.urgency, Urgency::Low);
        let koji = &planned[1];
        assert!(koji
            .notification
            .summary
            .starts_with("While you were away: "));
        assert!(
            koji.notification.summary.ends_with("15 messages"),
            "listed and counted"
        );
        assert_eq!(koji.covers.len(), 5);
        assert_eq!(
            koji.notification.body.lines().count(),
            4,
            "{}",
            koji.notification.body
        );
        assert!(koji
            .notification
            .body
            .ends_with("and 12 more in the history"));
        assert_eq!(
            koji.notification.urgency,
            Urgency::Normal,
            "failures, but not critical"
        );
    }
}
