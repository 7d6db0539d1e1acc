//! Subscriptions and rules, as pure functions: which messages a person wants, what happens to
//! each (notify, store silently, drop) and which rule decided it. The bus topology is derived
//! from the same rules ([`crate::bus::topology`]) so the broker sends as little as it can, and
//! every delivery is checked here again, exactly.

mod defaults;
mod dry_run;
mod matcher;
pub mod pattern;
mod rule;

pub use crate::record::Action;
pub use defaults::{default_rules, effective_rules, RuleOrigin};
pub use dry_run::{
    dry_run, dry_run_set, DryRun, DryRunError, DryRunSample, DryRunScope, RuleCount,
    DRY_RUN_SAMPLES,
};
pub use matcher::RuleSet;
pub use pattern::Pattern;
pub use rule::{
    BodyPredicate, Conditions, HeaderMatch, MatchMode, Names, Profile, RuleSpec, DEFAULT_PRIORITY,
};

use crate::message::Mentions;
use crate::record::Stored;
use lapin::types::FieldTable;
use serde_json::Value;
use std::sync::Arc;

/// What a rule looks at: the message and its rendering.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub topic: &'a str,
    pub headers: &'a FieldTable,
    pub mentions: &'a Mentions,
    pub body: Option<&'a Value>,
    pub source: &'a str,
    pub kind: &'a str,
    pub severity: u8,
    pub agent: Option<&'a str>,
}

impl<'a> Subject<'a> {
    pub fn of(s: &'a Stored) -> Subject<'a> {
        Subject {
            topic: &s.msg.topic,
            headers: &s.msg.headers,
            mentions: &s.msg.mentions,
            body: s.msg.json.as_ref(),
            source: &s.rendered.source,
            kind: &s.rendered.kind,
            severity: s.rendered.severity,
            agent: s.rendered.agent.as_deref(),
        }
    }
}

/// The outcome for one message: the action and the rule that chose it (`None` when no rule
/// matched and the default for unmatched messages applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    pub rule: Option<Arc<str>>,
}
