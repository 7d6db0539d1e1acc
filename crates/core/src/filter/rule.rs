//! What a person writes: a profile (who they are, what they watch) and rules. These are the
//! serialisable forms kept in the `[herald]` table of the config; [`super::RuleSet`] compiles
//! them for evaluation.

use crate::record::Action;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// Who the user is and what they watch, in `[herald.profile]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The user's FAS (Fedora account) names; the first is "me".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Watched packages (RPM names as in `fedora_messaging_rpm_<name>`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flatpaks: Vec<String>,
    /// Other people whose actions the user follows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow: Vec<String>,
}

impl Profile {
    pub fn is_empty(&self) -> bool {
        self == &Profile::default()
    }
}

/// Rules run in ascending priority; ties keep their order in the list.
pub const DEFAULT_PRIORITY: i32 = 50;

/// One rule as written in `[[herald.rules]]`: an id, an action, and conditions that must all
/// hold (an empty condition always holds), unless the `unless` conditions all hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSpec {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub priority: i32,
    pub action: Action,
    /// Only on these connections (by name); empty means every connection.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<String>,
    /// Turns off a default rule of the same id.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    #[serde(flatten)]
    pub when: Conditions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unless: Option<Conditions>,
}

impl RuleSpec {
    pub fn new(id: impl Into<String>, action: Action, when: Conditions) -> RuleSpec {
        RuleSpec {
            id: id.into(),
            description: None,
            priority: DEFAULT_PRIORITY,
            action,
            connections: Vec::new(),
            disabled: false,
            when,
            unless: None,
        }
    }

    pub fn applies_to(&self, connection: &str) -> bool {
        self.connections.is_empty() || self.connections.iter().any(|c| c == connection)
    }
}

/// Conditions of a rule; every field given must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Topic (routing key) patterns with AMQP semantics, any of which matches: `*` is one
    /// word, `#` zero or more.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<String>,
    /// Rendered source (`koji`, `anitya`, `pulp`, …), any of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Rendered kind (`buildsys.build.state.change`, `pulp.task`, …), any of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_min: Option<u8>,
    /// `fedora_messaging_user_<name>` headers.
    #[serde(default, skip_serializing_if = "Names::is_empty")]
    pub users: Names,
    #[serde(default, skip_serializing_if = "Names::is_empty")]
    pub groups: Names,
    /// `fedora_messaging_rpm_<name>` headers.
    #[serde(default, skip_serializing_if = "Names::is_empty")]
    pub packages: Names,
    #[serde(default, skip_serializing_if = "Names::is_empty")]
    pub containers: Names,
    #[serde(default, skip_serializing_if = "Names::is_empty")]
    pub modules: Names,
    #[serde(default, skip_serializing_if = "Names::is_empty")]
    pub flatpaks: Names,
    /// Raw header values (e.g. the Koji messagebus `type`, `name`, `new`), compared exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<HeaderMatch>,
    /// The person who acted (the rendered agent), any of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<String>,
    /// Skip messages whose agent is one of the profile's own names.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_own: bool,
    /// Body predicates; all must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub body: Vec<BodyPredicate>,
}

/// Names a header predicate looks for: `["a", "b"]` (any of) or `{ any = [...], all = [...] }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Names {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub any: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub all: Vec<String>,
}

impl Names {
    pub fn any_of<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Names {
        Names {
            any: names.into_iter().map(Into::into).collect(),
            all: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.any.is_empty() && self.all.is_empty()
    }
}

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            List(Vec<String>),
            Table {
                #[serde(default)]
                any: Vec<String>,
                #[serde(default)]
                all: Vec<String>,
            },
        }
        Ok(match Form::deserialize(d)? {
            Form::List(any) => Names {
                any,
                all: Vec::new(),
            },
            Form::Table { any, all } => Names { any, all },
        })
    }
}

/// Raw header equality: `{ match = "all", values = { type = "BuildStateChange" } }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderMatch {
    #[serde(default, rename = "match")]
    pub mode: MatchMode,
    pub values: BTreeMap<String, serde_json::Value>,
}

/// `x-match` semantics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchMode {
    #[default]
    All,
    Any,
}

impl MatchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchMode::All => "all",
            MatchMode::Any => "any",
        }
    }
}

/// A test on the JSON body at an RFC 6901 pointer. Exactly one of `equals`, `one_of`,
/// `matches` (a regular expression over the value's text: strings as they are, other values
/// as JSON) or `exists`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyPredicate {
    pub pointer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
}

/// The written form: the rule's own keys, with every other key a condition. Unknown keys are
/// refused (by [`Conditions`]), so a typo never silently widens a rule.
#[derive(Deserialize)]
struct RawRule {
    id: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default = "default_priority")]
    priority: i32,
    #[serde(default = "default_action")]
    action: Action,
    #[serde(default)]
    connections: Vec<String>,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    unless: Option<Conditions>,
    #[serde(flatten)]
    rest: BTreeMap<String, serde_json::Value>,
}

fn default_priority() -> i32 {
    DEFAULT_PRIORITY
}
fn default_action() -> Action {
    Action::Notify
}

impl<'de> Deserialize<'de> for RuleSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawRule::deserialize(d)?;
        let rest = serde_json::Value::Object(raw.rest.into_iter().collect());
        let when: Conditions = serde_json::from_value(rest)
            .map_err(|e| serde::de::Error::custom(format!("rule {:?}: {e}", raw.id)))?;
        if raw.id.trim().is_empty() {
            return Err(serde::de::Error::custom("a rule needs a non-empty id"));
        }
        Ok(RuleSpec {
            id: raw.id,
            description: raw.description,
            priority: raw.priority,
            action: raw.action,
            connections: raw.connections,
            disabled: raw.disabled,
            when,
            unless: raw.unless,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_reads_flat_conditions_and_refuses_typos() {
        let r: RuleSpec = toml::from_str(
            r#"
id = "mine"
action = "history"
topics = ["org.fedoraproject.*.buildsys.#"]
users = ["alice"]
packages = { all = ["a", "b"] }
body = [{ pointer = "/new", one_of = [1, 3] }]
unless = { agents = ["bot"] }
"#,
        )
        .expect("parses");
        assert_eq!(r.action, Action::History);
        assert_eq!(r.priority, DEFAULT_PRIORITY);
        assert_eq!(r.when.users.any, ["alice"]);
        assert_eq!(r.when.packages.all, ["a", "b"]);
        assert_eq!(r.when.body[0].one_of.as_ref().map(Vec::len), Some(2));
        assert_eq!(r.unless.map(|u| u.agents), Some(vec!["bot".to_owned()]));

        let typo = toml::from_str::<RuleSpec>("id = \"x\"\ntopic = [\"a.b\"]\n");
        let err = typo.expect_err("unknown key refused").to_string();
        assert!(err.contains("topic"), "{err}");
    }

    #[test]
    fn rule_round_trips_through_toml() {
        let mut r = RuleSpec::new(
            "r1",
            Action::Drop,
            Conditions {
                topics: vec!["a.#".into()],
                packages: Names::any_of(["x"]),
                ..Conditions::default()
            },
        );
        r.unless = Some(Conditions {
            severity_min: Some(40),
            ..Conditions::default()
        });
        let text = toml::to_string(&r).expect("serialises");
        let back: RuleSpec = toml::from_str(&text).expect("parses back");
        assert_eq!(back, r);
    }
}
