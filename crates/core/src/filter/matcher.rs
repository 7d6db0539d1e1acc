//! Compiled rules: [`RuleSet::compile`] turns the effective, priority-sorted [`RuleSpec`]s of
//! one connection into checks that run on every delivery without allocating. Topic patterns
//! are parsed, watched names go into hash sets, body pointers are split and regular
//! expressions built once, and each rule id becomes one shared `Arc<str>`. The first rule that
//! matches decides; within a rule the cheap checks (topic, source, kind, severity, agent) run
//! before the mentions, the header table and the body are looked at.

use super::pattern::Pattern;
use super::rule::{BodyPredicate, Conditions, HeaderMatch, MatchMode, Names, Profile, RuleSpec};
use super::{Decision, Subject};
use crate::error::FilterError;
use crate::message::{header_int, Mentions};
use crate::record::Action;
use lapin::types::{AMQPValue, FieldTable};
use regex::Regex;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;

/// Rules ready for evaluation, in order; cheap to clone (the compiled rules are shared).
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Arc<[Compiled]>,
    /// The profile's own names, for `skip_own`.
    own: Arc<[Box<str>]>,
    unmatched: Action,
}

impl RuleSet {
    /// Compiles `rules`, in evaluation order (already the effective, priority-sorted list for
    /// one connection). `profile.users` are "my" names for `skip_own`; `unmatched` is the
    /// action when no rule matches. Disabled rules are left out. Fails on two rules with one
    /// id, a body regex that does not compile, or a body predicate that is not well formed.
    pub fn compile(
        rules: &[RuleSpec],
        profile: &Profile,
        unmatched: Action,
    ) -> Result<RuleSet, FilterError> {
        let mut ids = HashSet::with_capacity(rules.len());
        if let Some(dup) = rules.iter().find(|r| !ids.insert(r.id.as_str())) {
            return Err(FilterError::DuplicateId(dup.id.clone()));
        }
        let compiled = rules
            .iter()
            .filter(|r| !r.disabled)
            .map(Compiled::new)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RuleSet {
            rules: compiled.into(),
            own: profile.users.iter().map(|u| u.as_str().into()).collect(),
            unmatched,
        })
    }

    /// No rules; everything is kept (stored silently, no rule named).
    pub fn keep_all() -> RuleSet {
        RuleSet {
            rules: Arc::new([]),
            own: Arc::new([]),
            unmatched: Action::History,
        }
    }

    /// The decision for one message: the first rule that matches, or the unmatched action.
    pub fn evaluate(&self, s: &Subject<'_>) -> Decision {
        with_words(s.topic, |words| {
            for r in self.rules.iter() {
                if r.matches(s, words, &self.own) {
                    return Decision {
                        action: r.action,
                        rule: Some(Arc::clone(&r.id)),
                    };
                }
            }
            Decision {
                action: self.unmatched,
                rule: None,
            }
        })
    }

    /// The number of (enabled) rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The action for messages no rule matches.
    pub fn unmatched(&self) -> Action {
        self.unmatched
    }
}

/// Routing keys of up to this many words are split on the stack.
const STACK_WORDS: usize = 16;

/// Splits the routing key on `.` once per message, without allocating for ordinary keys.
fn with_words<R>(topic: &str, f: impl FnOnce(&[&str]) -> R) -> R {
    if topic.is_empty() {
        return f(&[]);
    }
    let mut buf = [""; STACK_WORDS];
    let mut n = 0;
    for word in topic.split('.') {
        if n == STACK_WORDS {
            let all: Vec<&str> = topic.split('.').collect();
            return f(&all);
        }
        buf[n] = word;
        n += 1;
    }
    f(&buf[..n])
}

#[derive(Debug)]
struct Compiled {
    id: Arc<str>,
    action: Action,
    when: Checks,
    unless: Option<Checks>,
}

impl Compiled {
    fn new(r: &RuleSpec) -> Result<Compiled, FilterError> {
        Ok(Compiled {
            id: r.id.as_str().into(),
            action: r.action,
            when: Checks::new(&r.id, &r.when)?,
            unless: r
                .unless
                .as_ref()
                .map(|u| Checks::new(&r.id, u))
                .transpose()?,
        })
    }

    fn matches(&self, s: &Subject<'_>, words: &[&str], own: &[Box<str>]) -> bool {
        self.when.hold(s, words, own)
            && !self.unless.as_ref().is_some_and(|u| u.hold(s, words, own))
    }
}

/// One [`Conditions`], compiled. Empty fields are no check.
#[derive(Debug)]
struct Checks {
    topics: Box<[Pattern]>,
    sources: Box<[Box<str>]>,
    kinds: Box<[Box<str>]>,
    severity_min: Option<u8>,
    agents: Box<[Box<str>]>,
    skip_own: bool,
    names: Box<[(NameKind, NameCheck)]>,
    headers: Option<HeaderCheck>,
    body: Box<[BodyCheck]>,
}

impl Checks {
    fn new(rule: &str, c: &Conditions) -> Result<Checks, FilterError> {
        let strs = |v: &[String]| v.iter().map(|s| s.as_str().into()).collect();
        let names = [
            (NameKind::Users, &c.users),
            (NameKind::Groups, &c.groups),
            (NameKind::Packages, &c.packages),
            (NameKind::Containers, &c.containers),
            (NameKind::Modules, &c.modules),
            (NameKind::Flatpaks, &c.flatpaks),
        ]
        .into_iter()
        .filter(|(_, n)| !n.is_empty())
        .map(|(kind, n)| (kind, NameCheck::new(n)))
        .collect();
        Ok(Checks {
            topics: c.topics.iter().map(|t| Pattern::new(t)).collect(),
            sources: strs(&c.sources),
            kinds: strs(&c.kinds),
            severity_min: c.severity_min,
            agents: strs(&c.agents),
            skip_own: c.skip_own,
            names,
            headers: c.headers.as_ref().map(HeaderCheck::new),
            body: c
                .body
                .iter()
                .map(|p| BodyCheck::new(rule, p))
                .collect::<Result<_, _>>()?,
        })
    }

    /// True when every given condition holds; cheapest first.
    fn hold(&self, s: &Subject<'_>, words: &[&str], own: &[Box<str>]) -> bool {
        (self.topics.is_empty() || self.topics.iter().any(|p| p.matches_words(words)))
            && (self.sources.is_empty() || listed(&self.sources, s.source))
            && (self.kinds.is_empty() || listed(&self.kinds, s.kind))
            && self.severity_min.is_none_or(|min| s.severity >= min)
            && (self.agents.is_empty() || s.agent.is_some_and(|a| listed(&self.agents, a)))
            && !(self.skip_own && s.agent.is_some_and(|a| listed(own, a)))
            && self
                .names
                .iter()
                .all(|(kind, check)| check.holds(kind.of(s.mentions)))
            && self.headers.as_ref().is_none_or(|h| h.holds(s.headers))
            && self.body.iter().all(|b| b.holds(s.body))
    }
}

fn listed(list: &[Box<str>], value: &str) -> bool {
    list.iter().any(|x| **x == *value)
}

/// Which list of [`Mentions`] a [`Names`] condition reads.
#[derive(Debug, Clone, Copy)]
enum NameKind {
    Users,
    Groups,
    Packages,
    Containers,
    Modules,
    Flatpaks,
}

impl NameKind {
    fn of(self, m: &Mentions) -> &[String] {
        match self {
            NameKind::Users => &m.users,
            NameKind::Groups => &m.groups,
            NameKind::Packages => &m.packages,
            NameKind::Containers => &m.containers,
            NameKind::Modules => &m.modules,
            NameKind::Flatpaks => &m.flatpaks,
        }
    }
}

/// Up to this many names are compared one by one; more go into a hash set.
const FEW_NAMES: usize = 8;

/// A set of names, looked up with the (few) names a message mentions.
#[derive(Debug)]
enum NameSet {
    Few(Box<[Box<str>]>),
    Many(HashSet<Box<str>>),
}

impl NameSet {
    fn new(names: &[String]) -> NameSet {
        let mut v: Vec<Box<str>> = names.iter().map(|s| s.as_str().into()).collect();
        v.sort_unstable();
        v.dedup();
        if v.len() <= FEW_NAMES {
            NameSet::Few(v.into())
        } else {
            NameSet::Many(v.into_iter().collect())
        }
    }

    fn contains(&self, name: &str) -> bool {
        match self {
            NameSet::Few(v) => listed(v, name),
            NameSet::Many(set) => set.contains(name),
        }
    }
}

#[derive(Debug)]
struct NameCheck {
    /// `None` when no `any` list was given.
    any: Option<NameSet>,
    /// Sorted and without duplicates.
    all: Box<[Box<str>]>,
}

impl NameCheck {
    fn new(n: &Names) -> NameCheck {
        let mut all: Vec<Box<str>> = n.all.iter().map(|s| s.as_str().into()).collect();
        all.sort_unstable();
        all.dedup();
        NameCheck {
            any: (!n.any.is_empty()).then(|| NameSet::new(&n.any)),
            all: all.into(),
        }
    }

    fn holds(&self, mentioned: &[String]) -> bool {
        self.any
            .as_ref()
            .is_none_or(|set| mentioned.iter().any(|m| set.contains(m)))
            // `all` holds distinct names, so more of them than mentions cannot all be there.
            && (self.all.is_empty()
                || (self.all.len() <= mentioned.len()
                    && self.all.iter().all(|n| mentioned.iter().any(|m| **m == **n))))
    }
}

/// Raw header equality, as RabbitMQ's headers exchange decides it for a binding whose values
/// Herald wrote from the same JSON: `x-` keys are ignored, a `null` value only asks that the
/// header be present, and other values compare by kind (text, integer of any width, float,
/// boolean, array, table) and value.
#[derive(Debug)]
struct HeaderCheck {
    mode: MatchMode,
    values: Box<[(Box<str>, Value)]>,
}

impl HeaderCheck {
    fn new(h: &HeaderMatch) -> HeaderCheck {
        HeaderCheck {
            mode: h.mode,
            values: h
                .values
                .iter()
                .filter(|(k, _)| !k.starts_with("x-"))
                .map(|(k, v)| (k.as_str().into(), v.clone()))
                .collect(),
        }
    }

    fn holds(&self, table: &FieldTable) -> bool {
        let hit = |(key, want): &(Box<str>, Value)| {
            table
                .inner()
                .get(&**key)
                .is_some_and(|v| want.is_null() || header_eq(v, want))
        };
        match self.mode {
            MatchMode::All => self.values.iter().all(hit),
            MatchMode::Any => self.values.iter().any(hit),
        }
    }
}

/// True when the header value, seen as JSON, equals `want`. Timestamps and byte arrays have
/// no JSON form a binding could be written with, so they never match.
fn header_eq(v: &AMQPValue, want: &Value) -> bool {
    match want {
        Value::Null => matches!(v, AMQPValue::Void),
        Value::Bool(b) => matches!(v, AMQPValue::Boolean(x) if x == b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => header_int(v) == Some(i),
            // Herald writes every other JSON number as a double.
            None => n.as_f64().is_some_and(|f| header_float(v) == Some(f)),
        },
        Value::String(s) => match v {
            AMQPValue::LongString(t) => t.as_bytes() == s.as_bytes(),
            AMQPValue::ShortString(t) => t.as_str() == s,
            _ => false,
        },
        Value::Array(items) => match v {
            AMQPValue::FieldArray(a) => {
                a.as_slice().len() == items.len()
                    && a.as_slice().iter().zip(items).all(|(v, w)| header_eq(v, w))
            }
            _ => false,
        },
        Value::Object(map) => match v {
            AMQPValue::FieldTable(t) => {
                t.inner().len() == map.len()
                    && map
                        .iter()
                        .all(|(k, w)| t.inner().get(k.as_str()).is_some_and(|v| header_eq(v, w)))
            }
            _ => false,
        },
    }
}

fn header_float(v: &AMQPValue) -> Option<f64> {
    match *v {
        AMQPValue::Float(f) => Some(f64::from(f)),
        AMQPValue::Double(f) => Some(f),
        AMQPValue::DecimalValue(d) => Some(f64::from(d.value) / 10f64.powi(i32::from(d.scale))),
        _ => None,
    }
}

/// One body predicate: a pointer split into tokens, and its test.
#[derive(Debug)]
struct BodyCheck {
    pointer: Box<[Token]>,
    test: BodyTest,
}

/// A reference token of a JSON pointer, unescaped, with its array index when it is one.
#[derive(Debug)]
struct Token {
    key: Box<str>,
    index: Option<usize>,
}

#[derive(Debug)]
enum BodyTest {
    Equals(Value),
    OneOf(Box<[Value]>),
    Matches(Regex),
    Exists(bool),
}

impl BodyCheck {
    fn new(rule: &str, p: &BodyPredicate) -> Result<BodyCheck, FilterError> {
        let invalid = |reason: String| FilterError::Invalid {
            rule: rule.to_owned(),
            reason,
        };
        let pointer = parse_pointer(&p.pointer).map_err(|why| {
            invalid(format!(
                "body pointer {:?} is not a JSON pointer: {why}",
                p.pointer
            ))
        })?;
        let test = match (&p.equals, &p.one_of, &p.matches, p.exists) {
            (Some(v), None, None, None) => BodyTest::Equals(v.clone()),
            (None, Some(vs), None, None) => BodyTest::OneOf(vs.as_slice().into()),
            (None, None, Some(re), None) => {
                BodyTest::Matches(Regex::new(re).map_err(|e| FilterError::Regex {
                    rule: rule.to_owned(),
                    regex: re.clone(),
                    source: Box::new(e),
                })?)
            }
            (None, None, None, Some(want)) => BodyTest::Exists(want),
            _ => {
                return Err(invalid(format!(
                    "body predicate at {:?} needs exactly one of equals, one_of, matches or \
                     exists",
                    p.pointer
                )))
            }
        };
        Ok(BodyCheck { pointer, test })
    }

    fn holds(&self, body: Option<&Value>) -> bool {
        let found = body.and_then(|b| resolve(b, &self.pointer));
        match (&self.test, found) {
            (BodyTest::Exists(want), found) => found.is_some() == *want,
            (_, None) => false,
            (BodyTest::Equals(want), Some(v)) => v == want,
            (BodyTest::OneOf(wants), Some(v)) => wants.contains(v),
            (BodyTest::Matches(re), Some(Value::String(s))) => re.is_match(s),
            (BodyTest::Matches(re), Some(v)) => re.is_match(&v.to_string()),
        }
    }
}

/// Splits an RFC 6901 pointer: `""` is the whole body, anything else starts with `/`, and `~`
/// appears only as `~0` (a `~`) or `~1` (a `/`).
fn parse_pointer(pointer: &str) -> Result<Box<[Token]>, &'static str> {
    if pointer.is_empty() {
        return Ok(Box::new([]));
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err("it must be empty or start with '/'");
    };
    rest.split('/')
        .map(|raw| {
            let mut key = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                key.push(match c {
                    '~' => match chars.next() {
                        Some('0') => '~',
                        Some('1') => '/',
                        _ => return Err("'~' must be followed by 0 or 1"),
                    },
                    c => c,
                });
            }
            // Array indexes are decimal without leading zeros, as RFC 6901 has them.
            let index = (!raw.is_empty()
                && raw.bytes().all(|b| b.is_ascii_digit())
                && (raw == "0" || !raw.starts_with('0')))
            .then(|| raw.parse().ok())
            .flatten();
            Ok(Token {
                key: key.into(),
                index,
            })
        })
        .collect()
}

fn resolve<'v>(mut v: &'v Value, pointer: &[Token]) -> Option<&'v Value> {
    for t in pointer {
        v = match v {
            Value::Object(map) => map.get(&*t.key)?,
            Value::Array(items) => items.get(t.index?)?,
            _ => return None,
        };
    }
    Some(v)
}

#[cfg(test)]
mod tests;
