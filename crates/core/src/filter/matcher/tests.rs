use super::*;
use crate::filter::{default_rules, effective_rules, Names};
use crate::message::headers_from_json;
use lapin::types::{LongString, ShortString};
use rstest::rstest;
use serde_json::json;

/// An owned message for a [`Subject`] to borrow.
#[derive(Default)]
struct Msg {
    topic: String,
    headers: FieldTable,
    mentions: Mentions,
    body: Option<Value>,
    source: String,
    kind: String,
    severity: u8,
    agent: Option<String>,
}

fn msg(topic: &str) -> Msg {
    Msg {
        topic: topic.to_owned(),
        body: Some(json!({})),
        severity: 20,
        ..Msg::default()
    }
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

impl Msg {
    fn users(mut self, names: &[&str]) -> Msg {
        self.mentions.users = owned(names);
        self
    }
    fn packages(mut self, names: &[&str]) -> Msg {
        self.mentions.packages = owned(names);
        self
    }
    fn headers(mut self, h: Value) -> Msg {
        self.headers = headers_from_json(h.as_object().expect("headers are a JSON object"));
        self
    }
    fn body(mut self, b: Option<Value>) -> Msg {
        self.body = b;
        self
    }
    fn agent(mut self, a: Option<&str>) -> Msg {
        self.agent = a.map(str::to_owned);
        self
    }
    fn subject(&self) -> Subject<'_> {
        Subject {
            topic: &self.topic,
            headers: &self.headers,
            mentions: &self.mentions,
            body: self.body.as_ref(),
            source: &self.source,
            kind: &self.kind,
            severity: self.severity,
            agent: self.agent.as_deref(),
        }
    }
}

fn me() -> Profile {
    Profile {
        users: owned(&["spot"]),
        ..Profile::default()
    }
}

/// Rules written as in the config, as `[[rule]]` tables.
fn rules(text: &str) -> Vec<RuleSpec> {
    #[derive(serde::Deserialize)]
    struct File {
        rule: Vec<RuleSpec>,
    }
    toml::from_str::<File>(text).expect("rules parse").rule
}

fn compile(text: &str) -> RuleSet {
    RuleSet::compile(&rules(text), &me(), Action::Drop).expect("rules compile")
}

/// The decision for a message as `action:rule` (`-` for no rule).
fn decide(set: &RuleSet, m: &Msg) -> String {
    let d = set.evaluate(&m.subject());
    format!("{}:{}", d.action, d.rule.as_deref().unwrap_or("-"))
}

/// Asserts whether a single rule `r` with these condition lines matches the message.
fn check(conditions: &str, m: &Msg, expect: bool) {
    let set = compile(&format!("[[rule]]\nid = \"r\"\n{conditions}\n"));
    let hit = set.evaluate(&m.subject()).rule.as_deref() == Some("r");
    assert_eq!(hit, expect, "{conditions}\non {:?}", m.subject());
}

/// Twenty words: more than fit on the stack.
const LONG: &str = "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t";
const KOJI_BUILD: &str = "org.fedoraproject.prod.buildsys.build.state.change";

#[rstest]
#[case(r##"topics = ["#"]"##, "", true)]
#[case(r##"topics = ["#"]"##, "a.b.c", true)]
#[case(r##"topics = ["a.#"]"##, "a", true)]
#[case(r##"topics = ["a.#"]"##, "b.a", false)]
#[case(r##"topics = ["a.*"]"##, "a", false)]
#[case(r##"topics = ["*"]"##, "", false)]
#[case(r##"topics = ["*"]"##, "a.b", false)]
#[case(r##"topics = ["#.c"]"##, "a.b.c", true)]
#[case(r##"topics = ["#.c"]"##, "a.b.cc", false)]
#[case(r##"topics = ["a.#.c"]"##, "a.c", true)]
#[case(r##"topics = ["a.*.c"]"##, "a.b.b.c", false)]
#[case(r##"topics = ["a.*.b"]"##, "a..b", true)]
#[case(r##"topics = ["x.y", "a.*"]"##, "a.b", true)]
#[case(r##"topics = ["x.y", "a.*"]"##, "x.y.z", false)]
#[case(r##"topics = []"##, "any.thing", true)]
#[case(
    r##"topics = ["org.fedoraproject.*.buildsys.build.*.change"]"##,
    KOJI_BUILD,
    true
)]
#[case(
    r##"topics = ["org.fedoraproject.*.buildsys.task.#"]"##,
    KOJI_BUILD,
    false
)]
// Sixteen words fit the stack buffer; seventeen and more spill to the heap.
#[case(r##"topics = ["#.p"]"##, "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p", true)]
#[case(r##"topics = ["#.q"]"##, "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q", true)]
#[case(
    r##"topics = ["a.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.t"]"##,
    LONG,
    true
)]
#[case(r##"topics = ["#.s"]"##, LONG, false)]
#[case(r##"topics = ["#.s.#"]"##, LONG, true)]
fn topics(#[case] cond: &str, #[case] topic: &str, #[case] expect: bool) {
    check(cond, &msg(topic), expect);
}

/// The message's source and kind are both `value`.
#[rstest]
#[case(r#"sources = ["koji"]"#, "koji", 20, true)]
#[case(r#"sources = ["koji"]"#, "bodhi", 20, false)]
#[case(r#"kinds = ["pulp.task", "bodhi"]"#, "bodhi", 20, true)]
#[case(r#"kinds = ["pulp.task"]"#, "pulp.task.x", 20, false)]
#[case("severity_min = 30", "s", 30, true)]
#[case("severity_min = 30", "s", 40, true)]
#[case("severity_min = 30", "s", 20, false)]
fn basic_fields(#[case] cond: &str, #[case] value: &str, #[case] sev: u8, #[case] expect: bool) {
    let mut m = msg("a.b");
    (m.source, m.kind, m.severity) = (value.to_owned(), value.to_owned(), sev);
    check(cond, &m, expect);
}

#[rstest]
#[case(r#"users = ["spot"]"#, &["spot"], true)]
#[case(r#"users = ["spot"]"#, &["adamw"], false)]
#[case(r#"users = ["spot"]"#, &[], false)]
#[case(r#"users = ["a", "b"]"#, &["b", "c"], true)]
#[case(r#"users = { all = ["a", "b"] }"#, &["a"], false)]
#[case(r#"users = { all = ["a", "b"] }"#, &["a", "b", "c"], true)]
#[case(r#"users = { all = ["a", "a"] }"#, &["a"], true)]
#[case(r#"users = { any = ["x", "y"], all = ["a"] }"#, &["a", "x"], true)]
#[case(r#"users = { any = ["x", "y"], all = ["a"] }"#, &["a"], false)]
#[case(r#"users = { any = ["x", "y"], all = ["a"] }"#, &["y"], false)]
fn mentioned_names(#[case] cond: &str, #[case] users: &[&str], #[case] expect: bool) {
    check(cond, &msg("a").users(users), expect);
}

#[test]
fn each_name_condition_reads_its_own_mentions() {
    type Set = fn(&mut Mentions, Vec<String>);
    let kinds: [(&str, Set); 6] = [
        ("users", |m, v| m.users = v),
        ("groups", |m, v| m.groups = v),
        ("packages", |m, v| m.packages = v),
        ("containers", |m, v| m.containers = v),
        ("modules", |m, v| m.modules = v),
        ("flatpaks", |m, v| m.flatpaks = v),
    ];
    for (cond, _) in &kinds {
        for (mentioned, set) in &kinds {
            let mut m = msg("a");
            set(&mut m.mentions, owned(&["n"]));
            check(&format!("{cond} = [\"n\"]"), &m, cond == mentioned);
        }
    }
}

#[test]
fn hundreds_of_watched_names() {
    let watched: Vec<String> = (0..500).map(|i| format!("pkg-{i:03}")).collect();
    let mut any = RuleSpec::new("any", Action::Notify, Conditions::default());
    any.when.packages = Names::any_of(watched.iter().cloned());
    let mut all = RuleSpec::new("all", Action::History, Conditions::default());
    all.when.packages = Names {
        any: Vec::new(),
        all: watched.clone(),
    };
    let set = RuleSet::compile(&[all, any], &me(), Action::Drop).expect("compiles");
    let rule_for = |pkgs: &[&str]| set.evaluate(&msg("a").packages(pkgs).subject()).rule;
    assert_eq!(rule_for(&["aaa", "pkg-499"]).as_deref(), Some("any"));
    assert_eq!(rule_for(&["pkg-000", "pkg-002"]).as_deref(), Some("any"));
    assert_eq!(rule_for(&["pkg-5000", "zzz"]), None);
    let all_of_them: Vec<&str> = watched.iter().map(String::as_str).collect();
    assert_eq!(rule_for(&all_of_them).as_deref(), Some("all"));
}

#[rstest]
#[case("all", r#"type = "BuildStateChange""#, json!({"type": "BuildStateChange"}), true)]
#[case("all", r#"type = "BuildStateChange""#, json!({"type": "TaskStateChange"}), false)]
#[case("all", r#"type = "BuildStateChange""#, json!({}), false)]
#[case("all", "new = 1", json!({"new": 1}), true)]
#[case("all", "new = 1", json!({"new": 2}), false)]
#[case("all", "new = 1", json!({"new": "1"}), false)]
#[case("all", "new = 1", json!({"new": true}), false)]
#[case("all", "new = 3.0", json!({"new": 3}), false)]
#[case("all", "ratio = 0.5", json!({"ratio": 0.5}), true)]
#[case("all", "private = false", json!({"private": false}), true)]
#[case("all", "private = false", json!({"private": true}), false)]
#[case("all", r#"arches = ["x86_64", "s390x"]"#, json!({"arches": ["x86_64", "s390x"]}), true)]
#[case("all", r#"arches = ["x86_64", "s390x"]"#, json!({"arches": ["x86_64"]}), false)]
#[case("all", r#"type = "X", new = 1"#, json!({"type": "X", "new": 1, "other": 0}), true)]
#[case("all", r#"type = "X", new = 1"#, json!({"type": "X", "new": 2}), false)]
#[case("all", r#"type = "X", new = 1"#, json!({"type": "X"}), false)]
// `x-` keys are RabbitMQ's own and ignored, present or not.
#[case("all", r#""x-match" = "all", type = "X""#, json!({"type": "X"}), true)]
#[case("all", r#""x-anything" = 1"#, json!({}), true)]
#[case("any", r#"type = "X", new = 1"#, json!({"type": "Y", "new": 1}), true)]
#[case("any", r#"type = "X", new = 1"#, json!({"type": "X"}), true)]
#[case("any", r#"type = "X", new = 1"#, json!({"type": "Y", "new": 2}), false)]
#[case("any", r#"type = "X", new = 1"#, json!({"other": 1}), false)]
#[case("any", "private = true", json!({"private": true}), true)]
#[case("any", r#""x-anything" = 1"#, json!({"x-anything": 1}), false)]
fn header_values(
    #[case] mode: &str,
    #[case] values: &str,
    #[case] headers: Value,
    #[case] expect: bool,
) {
    let cond = format!("headers = {{ match = \"{mode}\", values = {{ {values} }} }}");
    check(&cond, &msg("").headers(headers), expect);
}

#[test]
fn header_integers_of_any_width_and_short_strings_compare_by_value() {
    let mut m = msg("");
    for (k, v) in [
        ("a", AMQPValue::ShortShortInt(7)),
        ("b", AMQPValue::ShortUInt(7)),
        ("c", AMQPValue::LongUInt(7)),
        ("d", AMQPValue::LongInt(-7)),
        ("s", AMQPValue::ShortString(ShortString::from("x"))),
        ("l", AMQPValue::LongString(LongString::from(b"x".to_vec()))),
        ("t", AMQPValue::Timestamp(7)),
        ("v", AMQPValue::Void),
    ] {
        m.headers.insert(k.into(), v);
    }
    let holds = |values: Value, expect: bool| {
        let r = json!({"id": "r", "action": "notify", "headers": {"values": values}});
        let r: RuleSpec = serde_json::from_value(r).expect("a rule");
        let set = RuleSet::compile(&[r], &me(), Action::Drop).expect("compiles");
        assert_eq!(
            set.evaluate(&m.subject()).rule.is_some(),
            expect,
            "{values}"
        );
    };
    holds(json!({"a": 7, "b": 7, "c": 7, "d": -7}), true);
    holds(json!({"s": "x", "l": "x"}), true);
    holds(json!({"c": -7}), false);
    // A timestamp is not an integer to RabbitMQ.
    holds(json!({"t": 7}), false);
    // `null` asks only for presence (a void binding value in RabbitMQ).
    holds(json!({"a": null, "v": null}), true);
    holds(json!({"missing": null}), false);
}

#[rstest]
#[case(Some("bot"), false)]
#[case(Some("human"), true)]
#[case(None, true)]
fn unless_excludes(#[case] agent: Option<&str>, #[case] expect: bool) {
    let cond = "topics = [\"a.#\"]\nunless = { agents = [\"bot\"] }";
    check(cond, &msg("a.b").agent(agent), expect);
}

#[rstest]
#[case(r#"unless = { agents = ["bot"], severity_min = 40 }"#, 20, true)]
#[case(r#"unless = { agents = ["bot"], severity_min = 40 }"#, 40, false)]
#[case(r#"unless = { topics = ["x.#"] }"#, 20, true)]
// Empty conditions always hold, so an empty `unless` excludes everything.
#[case("unless = {}", 20, false)]
fn unless_needs_all_its_conditions(#[case] cond: &str, #[case] severity: u8, #[case] expect: bool) {
    let mut m = msg("a.b").agent(Some("bot"));
    m.severity = severity;
    check(cond, &m, expect);
}

#[rstest]
#[case("skip_own = true", Some("spot"), false)]
#[case("skip_own = true", Some("adamw"), true)]
#[case("skip_own = true", None, true)]
#[case(r#"agents = ["adamw", "bot"]"#, Some("adamw"), true)]
#[case(r#"agents = ["adamw", "bot"]"#, Some("spot"), false)]
#[case(r#"agents = ["adamw", "bot"]"#, None, false)]
#[case("agents = [\"adamw\"]\nskip_own = true", Some("adamw"), true)]
fn agents_and_skip_own(#[case] cond: &str, #[case] agent: Option<&str>, #[case] expect: bool) {
    check(cond, &msg("a").agent(agent), expect);
}

#[test]
fn skip_own_without_own_names_skips_nothing() {
    let mut r = RuleSpec::new("r", Action::Notify, Conditions::default());
    r.when.skip_own = true;
    let set = RuleSet::compile(&[r], &Profile::default(), Action::Drop).expect("compiles");
    let m = msg("a").agent(Some("spot"));
    assert_eq!(set.evaluate(&m.subject()).action, Action::Notify);
}

#[rstest]
#[case(r#"{ pointer = "/new", equals = 1 }"#, Some(json!({"new": 1})), true)]
#[case(r#"{ pointer = "/new", equals = 1 }"#, Some(json!({"new": "1"})), false)]
#[case(r#"{ pointer = "/new", equals = 1 }"#, Some(json!({})), false)]
#[case(r#"{ pointer = "/new", equals = 1 }"#, None, false)]
#[case(r#"{ pointer = "/new", one_of = [1, 3, 4] }"#, Some(json!({"new": 3})), true)]
#[case(r#"{ pointer = "/new", one_of = [1, 3, 4] }"#, Some(json!({"new": 2})), false)]
#[case(r#"{ pointer = "/new", one_of = ["CLOSED", "FAILED"] }"#, Some(json!({"new": "FAILED"})), true)]
#[case(r#"{ pointer = "/new", one_of = ["CLOSED", "FAILED"] }"#, Some(json!({"new": "OPEN"})), false)]
#[case(r#"{ pointer = "/new", one_of = [1, "FAILED"] }"#, Some(json!({"new": 1})), true)]
#[case(r#"{ pointer = "/name", matches = "^chrom" }"#, Some(json!({"name": "chromium"})), true)]
#[case(r#"{ pointer = "/name", matches = "^chrom" }"#, Some(json!({"name": "xchromium"})), false)]
#[case(r#"{ pointer = "/id", matches = "^12[0-9]$" }"#, Some(json!({"id": 123})), true)]
#[case(r#"{ pointer = "/id", matches = "^12[0-9]$" }"#, Some(json!({"id": 13})), false)]
#[case(r#"{ pointer = "/o", matches = '"name":"spot"' }"#, Some(json!({"o": {"name": "spot"}})), true)]
#[case(r#"{ pointer = "/name", matches = "." }"#, None, false)]
#[case(r#"{ pointer = "/a/b", exists = true }"#, Some(json!({"a": {"b": null}})), true)]
#[case(r#"{ pointer = "/a/b", exists = true }"#, Some(json!({"a": {}})), false)]
#[case(r#"{ pointer = "/a/b", exists = true }"#, Some(json!({"a": "b"})), false)]
#[case(r#"{ pointer = "/a/b", exists = true }"#, None, false)]
#[case(r#"{ pointer = "/a/b", exists = false }"#, Some(json!({"a": {}})), true)]
#[case(r#"{ pointer = "/a/b", exists = false }"#, Some(json!({"a": {"b": 0}})), false)]
#[case(r#"{ pointer = "/a/b", exists = false }"#, None, true)]
#[case(r#"{ pointer = "/builds/1/nvr", equals = "y" }"#, Some(json!({"builds": [{"nvr": "x"}, {"nvr": "y"}]})), true)]
#[case(r#"{ pointer = "/builds/01/nvr", equals = "y" }"#, Some(json!({"builds": [{"nvr": "x"}, {"nvr": "y"}]})), false)]
#[case(r#"{ pointer = "/builds/2", exists = true }"#, Some(json!({"builds": [0, 1]})), false)]
#[case(r#"{ pointer = "/a~1b/m~0n", equals = 1 }"#, Some(json!({"a/b": {"m~n": 1}})), true)]
#[case(r#"{ pointer = "/01", equals = 1 }"#, Some(json!({"01": 1})), true)]
#[case(r#"{ pointer = "", equals = { a = 1 } }"#, Some(json!({"a": 1})), true)]
#[case(r#"{ pointer = "/new", equals = 1 }, { pointer = "/old", exists = false }"#, Some(json!({"new": 1})), true)]
#[case(r#"{ pointer = "/new", equals = 1 }, { pointer = "/old", exists = false }"#, Some(json!({"new": 1, "old": 0})), false)]
fn body_predicates(#[case] preds: &str, #[case] body: Option<Value>, #[case] expect: bool) {
    let cond = format!("body = [{preds}]");
    check(&cond, &msg("a").body(body), expect);
}

#[test]
fn first_matching_rule_wins_in_priority_order() {
    let configured = rules(
        r#"
[[rule]]
id = "broad"
action = "history"
topics = ["a.#"]

[[rule]]
id = "narrow"
priority = 10
action = "notify"
topics = ["a.b"]

[[rule]]
id = "never"
action = "notify"
topics = ["z"]
"#,
    );
    let ordered: Vec<RuleSpec> = effective_rules(&Profile::default(), &configured, &[])
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    let set = RuleSet::compile(&ordered, &me(), Action::Drop).expect("compiles");
    assert_eq!(set.len(), 3);
    assert_eq!(decide(&set, &msg("a.b")), "notify:narrow");
    assert_eq!(decide(&set, &msg("a.c")), "history:broad");
    // In list order (compile does not sort), the broad rule comes first.
    let set = RuleSet::compile(&configured, &me(), Action::Drop).expect("compiles");
    assert_eq!(decide(&set, &msg("a.b")), "history:broad");
    // The id is shared, not allocated per message.
    let id = |topic| set.evaluate(&msg(topic).subject()).rule.expect("matched");
    assert!(Arc::ptr_eq(&id("a.b"), &id("a.x")));
}

#[rstest]
#[case(Action::Drop)]
#[case(Action::History)]
#[case(Action::Notify)]
fn unmatched_messages_get_the_default_and_no_rule(#[case] unmatched: Action) {
    let list = rules("[[rule]]\nid = \"r\"\ntopics = [\"x\"]");
    let set = RuleSet::compile(&list, &me(), unmatched).expect("compiles");
    assert_eq!(set.unmatched(), unmatched);
    let d = set.evaluate(&msg("y").subject());
    assert_eq!((d.action, d.rule), (unmatched, None));
}

#[test]
fn keep_all_keeps_everything_silently() {
    let set = RuleSet::keep_all();
    assert!(set.is_empty());
    assert_eq!(set.len(), 0);
    assert_eq!(set.unmatched(), Action::History);
    assert_eq!(decide(&set, &msg("anything.at.all")), "history:-");
}

#[test]
fn disabled_rules_are_skipped() {
    let set = compile(
        r#"
[[rule]]
id = "off"
disabled = true
body = [{ pointer = "/x", matches = "(" }]

[[rule]]
id = "on"
action = "history"
"#,
    );
    assert_eq!(set.len(), 1);
    assert_eq!(decide(&set, &msg("a")), "history:on");
}

#[rstest]
#[case(r#"body = [{ pointer = "/x", matches = "(" }]"#, "regex")]
#[case(
    r#"unless = { body = [{ pointer = "", matches = "[z-a]" }] }"#,
    "regex"
)]
#[case(r#"body = [{ pointer = "x", equals = 1 }]"#, "invalid")]
#[case(r#"body = [{ pointer = "/a~2", equals = 1 }]"#, "invalid")]
#[case(r#"body = [{ pointer = "/a~", exists = true }]"#, "invalid")]
#[case(r#"body = [{ pointer = "/x", equals = 1, one_of = [1] }]"#, "invalid")]
#[case(
    r#"body = [{ pointer = "/x", matches = "a", exists = true }]"#,
    "invalid"
)]
#[case(r#"body = [{ pointer = "/x" }]"#, "invalid")]
fn compile_errors(#[case] cond: &str, #[case] kind: &str) {
    let list = rules(&format!("[[rule]]\nid = \"bad\"\n{cond}\n"));
    let err = RuleSet::compile(&list, &me(), Action::Drop).expect_err("refused");
    match (&err, kind) {
        (FilterError::Regex { rule, .. }, "regex")
        | (FilterError::Invalid { rule, .. }, "invalid") => {
            assert_eq!(rule, "bad", "{err}");
        }
        _ => panic!("{cond}: expected a {kind} error, got {err:?}"),
    }
}

#[test]
fn duplicate_ids_are_refused() {
    let list = rules("[[rule]]\nid = \"a\"\n[[rule]]\nid = \"b\"\n[[rule]]\nid = \"a\"\n");
    let err = RuleSet::compile(&list, &me(), Action::Drop).expect_err("refused");
    assert!(
        matches!(&err, FilterError::DuplicateId(id) if id == "a"),
        "{err:?}"
    );
}

#[rstest]
#[case(json!({"new": 1, "old": 0}), "notify:koji-mine-finished")]
#[case(json!({"new": 0, "old": null}), "history:koji-mine")]
fn default_rules_for_a_koji_build(#[case] body: Value, #[case] expect: &str) {
    let profile = Profile {
        users: owned(&["spot"]),
        packages: owned(&["chromium"]),
        ..Profile::default()
    };
    let mut defaults = default_rules(&profile, &[]);
    defaults.sort_by_key(|r| r.priority);
    let set = RuleSet::compile(&defaults, &profile, Action::Drop).expect("defaults compile");
    let mut m = msg(KOJI_BUILD)
        .users(&["spot"])
        .packages(&["chromium"])
        .headers(json!({
            "fedora_messaging_severity": 20,
            "fedora_messaging_user_spot": true,
            "fedora_messaging_rpm_chromium": true,
        }))
        .body(Some(body));
    (m.source, m.kind) = ("koji".to_owned(), "buildsys.build.state.change".to_owned());
    assert_eq!(decide(&set, &m), expect);
}
