//! Rules from the command line: the condition flags `add`, `edit` and `test` share, rules
//! written as TOML, and the one-line description `list` prints.

use crate::UsageError;
use herald_core::config::edit::parse_rules;
use herald_core::filter::{
    Action, BodyPredicate, Conditions, HeaderMatch, MatchMode, Names, RuleSpec,
};
pub use herald_core::pipeline::error_chain;
use serde_json::Value;
use std::path::Path;

/// Conditions and settings of a rule. In `edit`, each flag given replaces that field.
#[derive(Debug, Default, clap::Args)]
pub struct RuleFlags {
    /// What happens to matching messages: notify, history (store silently) or drop.
    #[arg(long, value_name = "ACTION", value_parser = parse_action)]
    pub action: Option<Action>,
    /// Rules run in ascending priority (default 50; the profile's rules run at 100–120).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub priority: Option<i32>,
    /// Topic pattern, `*` one word, `#` zero or more (repeatable: any of).
    #[arg(long = "topic", value_name = "PATTERN")]
    pub topics: Vec<String>,
    /// Rendered source: koji, bodhi, copr, anitya, pulp, … (repeatable: any of).
    #[arg(long = "source", value_name = "SOURCE")]
    pub sources: Vec<String>,
    /// Rendered kind, e.g. buildsys.build.state.change (repeatable: any of).
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<String>,
    /// Minimum severity: 10 debug, 20 info, 30 warning, 40 error.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=50))]
    pub severity_min: Option<u8>,
    /// Messages naming this user (repeatable: any of).
    #[arg(long = "user", value_name = "NAME")]
    pub users: Vec<String>,
    /// Messages naming this group (repeatable: any of).
    #[arg(long = "group", value_name = "NAME")]
    pub groups: Vec<String>,
    /// Messages naming this package (repeatable: any of).
    #[arg(long = "package", value_name = "NAME")]
    pub packages: Vec<String>,
    /// Messages naming this container (repeatable: any of).
    #[arg(long = "container", value_name = "NAME")]
    pub containers: Vec<String>,
    /// Messages naming this module (repeatable: any of).
    #[arg(long = "module", value_name = "NAME")]
    pub modules: Vec<String>,
    /// Messages naming this flatpak (repeatable: any of).
    #[arg(long = "flatpak", value_name = "NAME")]
    pub flatpaks: Vec<String>,
    /// Messages naming every one of these users (repeatable: all of).
    #[arg(long = "all-users", value_name = "NAME")]
    pub all_users: Vec<String>,
    /// Messages naming every one of these packages (repeatable: all of).
    #[arg(long = "all-packages", value_name = "NAME")]
    pub all_packages: Vec<String>,
    /// Raw header equality; VALUE is JSON when it parses as JSON, else a string (repeatable).
    #[arg(long = "header", value_name = "KEY=VALUE")]
    pub headers: Vec<String>,
    /// Any one --header is enough (default: all must hold).
    #[arg(long)]
    pub header_any: bool,
    /// The person who acted (repeatable: any of).
    #[arg(long = "agent", value_name = "NAME")]
    pub agents: Vec<String>,
    /// Skip what the profile's own users did (`--skip-own=false` to stop skipping).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub skip_own: Option<bool>,
    /// Body test at a JSON pointer: `/new=1` (equals JSON, else the string) or
    /// `/name~^python-` (regular expression) (repeatable: all must hold).
    #[arg(long = "body", value_name = "POINTER=JSON|POINTER~REGEX")]
    pub body: Vec<String>,
    /// Except messages naming this user (repeatable).
    #[arg(long = "unless-user", value_name = "NAME")]
    pub unless_users: Vec<String>,
    /// Except messages naming this package (repeatable).
    #[arg(long = "unless-package", value_name = "NAME")]
    pub unless_packages: Vec<String>,
    /// Except messages by this agent (repeatable).
    #[arg(long = "unless-agent", value_name = "NAME")]
    pub unless_agents: Vec<String>,
    /// What the rule is for (shown by `herald rules list`; empty removes it).
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
}

fn parse_action(s: &str) -> Result<Action, String> {
    match s {
        "notify" => Ok(Action::Notify),
        "history" => Ok(Action::History),
        "drop" => Ok(Action::Drop),
        _ => Err("use notify, history or drop".to_owned()),
    }
}

impl RuleFlags {
    /// True when no flag was given.
    pub fn is_empty(&self) -> bool {
        let lists = [
            &self.topics,
            &self.sources,
            &self.kinds,
            &self.users,
            &self.groups,
            &self.packages,
            &self.containers,
            &self.modules,
            &self.flatpaks,
            &self.all_users,
            &self.all_packages,
            &self.headers,
            &self.agents,
            &self.body,
            &self.unless_users,
            &self.unless_packages,
            &self.unless_agents,
        ];
        lists.iter().all(|l| l.is_empty())
            && self.action.is_none()
            && self.priority.is_none()
            && self.severity_min.is_none()
            && !self.header_any
            && self.skip_own.is_none()
            && self.description.is_none()
    }

    /// A new rule from the flags (action notify unless given).
    pub fn build(&self, id: &str) -> Result<RuleSpec, UsageError> {
        check_id(id)?;
        let mut rule = RuleSpec::new(id, Action::Notify, Conditions::default());
        self.apply(&mut rule)?;
        Ok(rule)
    }

    /// Sets the fields the flags give, leaving the others as they are.
    pub fn apply(&self, rule: &mut RuleSpec) -> Result<(), UsageError> {
        if let Some(a) = self.action {
            rule.action = a;
        }
        if let Some(p) = self.priority {
            rule.priority = p;
        }
        if let Some(d) = &self.description {
            rule.description = (!d.trim().is_empty()).then(|| d.clone());
        }
        let c = &mut rule.when;
        set(&mut c.topics, &self.topics);
        set(&mut c.sources, &self.sources);
        set(&mut c.kinds, &self.kinds);
        set(&mut c.agents, &self.agents);
        if self.severity_min.is_some() {
            c.severity_min = self.severity_min;
        }
        set(&mut c.users.any, &self.users);
        set(&mut c.users.all, &self.all_users);
        set(&mut c.groups.any, &self.groups);
        set(&mut c.packages.any, &self.packages);
        set(&mut c.packages.all, &self.all_packages);
        set(&mut c.containers.any, &self.containers);
        set(&mut c.modules.any, &self.modules);
        set(&mut c.flatpaks.any, &self.flatpaks);
        if let Some(s) = self.skip_own {
            c.skip_own = s;
        }
        if !self.headers.is_empty() {
            let values = self
                .headers
                .iter()
                .map(|h| match h.split_once('=') {
                    Some((k, v)) if !k.trim().is_empty() => {
                        Ok((k.trim().to_owned(), json_or_string(v)))
                    }
                    _ => Err(UsageError(format!("--header {h:?}: write KEY=VALUE"))),
                })
                .collect::<Result<_, _>>()?;
            c.headers = Some(HeaderMatch {
                mode: MatchMode::All,
                values,
            });
        }
        if self.header_any {
            match &mut c.headers {
                Some(h) => h.mode = MatchMode::Any,
                None => return Err(UsageError("--header-any needs --header KEY=VALUE".into())),
            }
        }
        if !self.body.is_empty() {
            c.body = self
                .body
                .iter()
                .map(|b| body_predicate(b))
                .collect::<Result<_, _>>()?;
        }
        if !(self.unless_users.is_empty()
            && self.unless_packages.is_empty()
            && self.unless_agents.is_empty())
        {
            let u = rule.unless.get_or_insert_with(Conditions::default);
            set(&mut u.users.any, &self.unless_users);
            set(&mut u.packages.any, &self.unless_packages);
            set(&mut u.agents, &self.unless_agents);
        }
        Ok(())
    }
}

fn set(field: &mut Vec<String>, given: &[String]) {
    if !given.is_empty() {
        *field = given.to_vec();
    }
}

fn json_or_string(s: &str) -> Value {
    serde_json::from_str(s.trim()).unwrap_or_else(|_| Value::String(s.to_owned()))
}

/// `POINTER=JSON` (equals) or `POINTER~REGEX` (matches). The separator is the first `=`, or
/// the first `~` that is not a pointer escape (`~0`, `~1`).
fn body_predicate(s: &str) -> Result<BodyPredicate, UsageError> {
    let bytes = s.as_bytes();
    let sep = bytes.iter().enumerate().position(|(i, b)| {
        *b == b'=' || (*b == b'~' && !matches!(bytes.get(i + 1), Some(b'0' | b'1')))
    });
    let bad = || {
        UsageError(format!(
            "--body {s:?}: write POINTER=JSON or POINTER~REGEX, e.g. /new=1 or /name~^python-"
        ))
    };
    let i = sep.ok_or_else(bad)?;
    let (pointer, value) = (&s[..i], &s[i + 1..]);
    if !(pointer.is_empty() || pointer.starts_with('/')) {
        return Err(bad());
    }
    let mut p = BodyPredicate {
        pointer: pointer.to_owned(),
        equals: None,
        one_of: None,
        matches: None,
        exists: None,
    };
    if bytes[i] == b'=' {
        p.equals = Some(json_or_string(value));
    } else {
        p.matches = Some(value.to_owned());
    }
    Ok(p)
}

pub fn check_id(id: &str) -> Result<(), UsageError> {
    if id.trim().is_empty() {
        return Err(UsageError("a rule needs an id (--id NAME)".into()));
    }
    Ok(())
}

/// Rules written as TOML on the command line: one rule's keys (`id = "x"` …, with `\n`
/// between keys allowed for one-line shells), an inline table `{ id = "x", … }`, or
/// `[[rules]]` tables.
pub fn rules_from_text(text: &str, what: &str) -> Result<Vec<RuleSpec>, UsageError> {
    let name = Path::new(what);
    let parse = |t: &str| {
        let t = t.trim();
        if t.starts_with('{') {
            parse_rules(&format!("rules = [{t}]"), name)
        } else {
            parse_rules(t, name)
        }
    };
    let first = match parse(text) {
        Ok(r) => return Ok(r),
        Err(e) => e,
    };
    let unescaped = newlines_outside_strings(text);
    if unescaped != text {
        if let Ok(r) = parse(&unescaped) {
            return Ok(r);
        }
    }
    Err(UsageError(error_chain(&first)))
}

/// Rules from a TOML file.
pub fn rules_from_file(path: &Path) -> Result<Vec<RuleSpec>, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
    parse_rules(&text, path).map_err(|e| UsageError(error_chain(&e)))
}

/// Turns a literal `\n` between keys into a line break, leaving strings alone.
fn newlines_outside_strings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some('"'), '\\') => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
                continue;
            }
            (Some(q), _) if c == q => quote = None,
            (None, '\\') if chars.peek() == Some(&'n') => {
                chars.next();
                out.push('\n');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// A rule's conditions on one line: `topic a|b  package x  /new in [1, 3]  unless (user bot)`.
pub fn describe(c: &Conditions, unless: Option<&Conditions>) -> String {
    let mut parts = conditions(c);
    if parts.is_empty() {
        parts.push("every message".to_owned());
    }
    if let Some(u) = unless {
        let u = conditions(u);
        if !u.is_empty() {
            parts.push(format!("unless ({})", u.join("  ")));
        }
    }
    parts.join("  ")
}

fn conditions(c: &Conditions) -> Vec<String> {
    let mut out = Vec::new();
    let mut list = |label: &str, v: &[String]| {
        if !v.is_empty() {
            out.push(format!("{label} {}", v.join("|")));
        }
    };
    list("topic", &c.topics);
    list("source", &c.sources);
    list("kind", &c.kinds);
    let names: [(&str, &Names); 6] = [
        ("user", &c.users),
        ("group", &c.groups),
        ("package", &c.packages),
        ("container", &c.containers),
        ("module", &c.modules),
        ("flatpak", &c.flatpaks),
    ];
    for (label, n) in names {
        list(label, &n.any);
        if !n.all.is_empty() {
            list(&format!("{label}s all of"), &[n.all.join("&")]);
        }
    }
    list("agent", &c.agents);
    if let Some(s) = c.severity_min {
        out.push(format!("severity>={s}"));
    }
    if let Some(h) = &c.headers {
        let kv: Vec<String> = h.values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let sep = if h.mode == MatchMode::Any { "|" } else { "&" };
        out.push(format!("header {}", kv.join(sep)));
    }
    if c.skip_own {
        out.push("not by me".to_owned());
    }
    for b in &c.body {
        let p = if b.pointer.is_empty() {
            "/"
        } else {
            &b.pointer
        };
        if let Some(v) = &b.equals {
            out.push(format!("{p}={v}"));
        }
        if let Some(v) = &b.one_of {
            let v: Vec<String> = v.iter().map(Value::to_string).collect();
            out.push(format!("{p} in [{}]", v.join(", ")));
        }
        if let Some(re) = &b.matches {
            out.push(format!("{p}~{re}"));
        }
        match b.exists {
            Some(true) => out.push(format!("{p} exists")),
            Some(false) => out.push(format!("{p} missing")),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_flags_split_on_the_first_separator() {
        let p = body_predicate("/new=1").expect("equals");
        assert_eq!(p.equals, Some(serde_json::json!(1)));
        let p = body_predicate("/name=chromium").expect("string");
        assert_eq!(p.equals, Some(serde_json::json!("chromium")));
        let p = body_predicate("/a~1b~^x=y$").expect("matches");
        assert_eq!(
            (p.pointer.as_str(), p.matches.as_deref()),
            ("/a~1b", Some("^x=y$"))
        );
        assert!(body_predicate("new=1").is_err());
        assert!(body_predicate("/new").is_err());
    }

    #[test]
    fn flags_build_and_replace_fields() {
        let flags = RuleFlags {
            packages: vec!["chromium".into()],
            headers: vec!["new=1".into(), "type=Build".into()],
            header_any: true,
            unless_agents: vec!["bot".into()],
            ..RuleFlags::default()
        };
        let mut r = flags.build("t").expect("builds");
        assert_eq!(r.action, Action::Notify);
        assert_eq!(r.when.packages.any, ["chromium"]);
        let h = r.when.headers.as_ref().expect("headers");
        assert_eq!(h.mode, MatchMode::Any);
        assert_eq!(h.values["new"], serde_json::json!(1));
        let edit = RuleFlags {
            action: Some(Action::Drop),
            packages: vec!["firefox".into()],
            ..RuleFlags::default()
        };
        edit.apply(&mut r).expect("applies");
        assert_eq!(
            (r.action, r.when.packages.any.as_slice()),
            (Action::Drop, &["firefox".to_owned()][..])
        );
        assert!(r.when.headers.is_some() && r.unless.is_some());
        assert!(RuleFlags::default().is_empty() && !edit.is_empty());
    }

    #[test]
    fn toml_text_with_literal_newlines_and_inline_tables() {
        let r = rules_from_text(
            r#"id = "x"\naction = "drop"\ntopics = ["a\\n.b"]"#,
            "--toml",
        )
        .expect("parses");
        assert_eq!(r[0].action, Action::Drop);
        assert_eq!(r[0].when.topics, ["a\\n.b"]);
        let r = rules_from_text(r#"{ id = "y", packages = ["p"] }"#, "--toml").expect("inline");
        assert_eq!(r[0].when.packages.any, ["p"]);
        assert!(rules_from_text("id = \"z\"\ntopic = []", "--toml").is_err());
    }

    #[test]
    fn descriptions_are_one_line() {
        let c = Conditions {
            topics: vec!["a.#".into()],
            packages: Names {
                any: vec!["x".into()],
                all: vec!["y".into(), "z".into()],
            },
            skip_own: true,
            ..Conditions::default()
        };
        let u = Conditions {
            agents: vec!["bot".into()],
            ..Conditions::default()
        };
        assert_eq!(
            describe(&c, Some(&u)),
            "topic a.#  package x  packages all of y&z  not by me  unless (agent bot)"
        );
        assert_eq!(describe(&Conditions::default(), None), "every message");
    }
}
