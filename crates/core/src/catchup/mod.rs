//! Catch-up: what the bus carried while Herald was not listening. A queue the broker keeps
//! (per install, durable, with an expiry and a length limit) covers a short absence by
//! itself; when the queue did not survive, or overflowed, the missing window is walked in
//! the bus archive (datagrepper) and every message goes through the live path, marked
//! back-filled.
//!
//! The pieces: [`archive`] is the polite HTTP client, [`walk`] the time cursor over a window,
//! [`job`] what is remembered across restarts (the last live message, how the last session
//! ended, the windows still to walk), [`fill`] one page through decode → rules → history, and
//! [`sleep`] hears the machine suspend and resume. The pipeline wires them to its sessions;
//! `herald backfill` uses them directly.

pub mod archive;
pub mod fill;
pub mod job;
pub mod sleep;
pub mod walk;

pub use archive::{Archive, Politeness, Query, SearchPage};
pub use fill::{judge, Filler, Page};
pub use job::{Absence, Counts, Job, Ledger, LiveMark, SessionMark};
pub use walk::Walk;

use crate::bus::topology::{Plan, OWN_EXCHANGE_PREFIX};

/// The exact topics `plan` can deliver, which the archive can be asked for by name; `None`
/// when a binding uses a wildcard or no routing key (a headers exchange), so the window must
/// be fetched whole and narrowed client-side only.
pub fn topics(plan: &Plan) -> Option<Vec<String>> {
    let mut topics = Vec::new();
    for b in &plan.bindings {
        if b.source.starts_with(OWN_EXCHANGE_PREFIX) {
            continue;
        }
        let key = &b.routing_key;
        if key.is_empty() || key.split('.').any(|w| w == "*" || w == "#") {
            return None;
        }
        if !topics.contains(key) {
            topics.push(key.clone());
        }
    }
    (!topics.is_empty()).then_some(topics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::topology::{Destination, PlannedBinding};

    fn binding(source: &str, key: &str) -> PlannedBinding {
        PlannedBinding {
            source: source.to_owned(),
            destination: Destination::Queue("q".to_owned()),
            routing_key: key.to_owned(),
            arguments: Default::default(),
        }
    }

    #[test]
    fn only_exact_topics_narrow_the_archive() {
        let mut plan = Plan {
            bindings: vec![
                binding(
                    "amq.topic",
                    "org.fedoraproject.prod.buildsys.build.state.change",
                ),
                binding("amq.topic", "org.fedoraproject.prod.bodhi.update.comment"),
                binding("herald.x1", ""),
            ],
            ..Plan::default()
        };
        assert_eq!(
            topics(&plan).expect("exact").len(),
            2,
            "Herald's own header hops do not widen it"
        );
        plan.bindings
            .push(binding("amq.topic", "org.fedoraproject.prod.copr.#"));
        assert_eq!(topics(&plan), None);
        plan.bindings = vec![binding("koji", "")];
        assert_eq!(topics(&plan), None, "a headers exchange has no topics");
        assert_eq!(topics(&Plan::default()), None);
    }
}
