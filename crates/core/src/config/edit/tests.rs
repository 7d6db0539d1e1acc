//! Format-preserving edits: comments kept, defaults never written, round trips.

use super::*;
use crate::filter::{Action, BodyPredicate, Conditions, HeaderMatch, Names};

const COMMENTED: &str = r#"# My Herald config.
amqp_url = "amqp://localhost/%2F"  # local broker

[queues.q]   # the queue
durable = true

[herald]
# keep a year
retention_days = 365

[herald.profile]
users = ["spot"]   # me

# Chromium releases are important.
[[herald.rules]]
id = "chromium"   # keep this one
action = "notify"
packages = ["chromium"]

# Everything else about my packages.
[[herald.rules]]
id = "mine"
action = "history"
users = ["spot"]
"#;

fn editor(text: &str) -> ConfigEditor {
    ConfigEditor::from_text(text, Path::new("/nonexistent/config.toml")).expect("parses")
}

fn rule(id: &str, action: Action, packages: &[&str]) -> RuleSpec {
    RuleSpec::new(
        id,
        action,
        Conditions {
            packages: Names::any_of(packages.iter().copied()),
            ..Conditions::default()
        },
    )
}

#[test]
fn untouched_documents_print_unchanged() {
    let e = editor(COMMENTED);
    assert_eq!(e.text(), COMMENTED);
    assert!(!e.is_changed());
    assert_eq!(e.rules().expect("rules").len(), 2);
}

#[test]
fn upsert_appends_keeping_comments_and_writing_no_defaults() {
    let mut e = editor(COMMENTED);
    let mut r = rule("firefox", Action::Notify, &["firefox"]);
    r.unless = Some(Conditions {
        users: Names::any_of(["bot"]),
        ..Conditions::default()
    });
    r.when.body = vec![BodyPredicate {
        pointer: "/new".into(),
        equals: Some(serde_json::json!(1)),
        one_of: None,
        matches: None,
        exists: None,
    }];
    r.when.headers = Some(HeaderMatch {
        mode: crate::filter::MatchMode::All,
        values: [("type".to_owned(), serde_json::json!("BuildStateChange"))].into(),
    });
    e.upsert_rule(&r).expect("upsert");
    let text = e.text();
    for line in COMMENTED.lines() {
        assert!(text.contains(line), "lost {line:?} in\n{text}");
    }
    assert!(
        text.ends_with(
            "[[herald.rules]]\nid = \"firefox\"\naction = \"notify\"\npackages = [\"firefox\"]\n\
         headers = { values = { type = \"BuildStateChange\" } }\n\
         body = [{ pointer = \"/new\", equals = 1 }]\nunless = { users = [\"bot\"] }\n"
        ),
        "{text}"
    );
    assert!(!text.contains("priority"), "{text}");
    let cfg = e.config().expect("valid config");
    assert_eq!(cfg.herald.rules.len(), 3);
    assert_eq!(cfg.herald.rules[2], r);
    assert_eq!(e.rules().expect("rules")[2], r);
}

#[test]
fn upsert_replaces_in_place_and_remove_deletes() {
    let mut e = editor(COMMENTED);
    let mut r = rule("chromium", Action::History, &["chromium", "chromedriver"]);
    r.priority = 10;
    r.when.packages.all = vec!["x".into()];
    e.upsert_rule(&r).expect("upsert");
    let text = e.text();
    assert!(text.contains("# Chromium releases are important.\n[[herald.rules]]\nid = \"chromium\"\npriority = 10\naction = \"history\"\n"), "{text}");
    assert!(
        text.contains("packages = { any = [\"chromium\", \"chromedriver\"], all = [\"x\"] }"),
        "{text}"
    );
    let rules = e.rules().expect("rules");
    assert_eq!(
        rules.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["chromium", "mine"]
    );
    assert_eq!(rules[0], r);

    assert!(e.remove_rule("mine"));
    assert!(!e.remove_rule("mine"));
    let text = e.text();
    assert!(!text.contains("id = \"mine\""), "{text}");
    assert!(text.contains("# keep a year") && text.contains("users = [\"spot\"]   # me"));
    assert!(e.remove_rule("chromium"));
    assert!(e.rules().expect("rules").is_empty());
    let cfg = e.config().expect("valid config");
    assert!(cfg.herald.rules.is_empty());
    assert_eq!(cfg.herald.profile.users, ["spot"]);
}

#[test]
fn empty_file_gets_herald_rules_only() {
    let mut e = editor("");
    e.upsert_rule(&rule("a", Action::Drop, &["x"]))
        .expect("upsert");
    e.disable_rule("koji-mine").expect("disable");
    assert_eq!(
        e.text(),
        "[[herald.rules]]\nid = \"a\"\naction = \"drop\"\npackages = [\"x\"]\n\n\
         [[herald.rules]]\nid = \"koji-mine\"\ndisabled = true\n"
    );
    let cfg = e.config().expect("valid");
    assert!(cfg.herald.rules[1].disabled);
}

#[test]
fn herald_table_without_rules_gets_them_after_its_subtables() {
    let text = "[herald]\nretention_days = 7\n\n[herald.profile]\nusers = [\"spot\"]\n\n[tls]\nca_cert = \"/x\"\n";
    let mut e = editor(text);
    e.upsert_rule(&rule("a", Action::Notify, &["x"]))
        .expect("upsert");
    let cfg = e.config().expect("valid");
    assert_eq!(cfg.herald.rules.len(), 1);
    assert_eq!(
        e.text(),
        "[herald]\nretention_days = 7\n\n[herald.profile]\nusers = [\"spot\"]\n\n\
         [[herald.rules]]\nid = \"a\"\naction = \"notify\"\npackages = [\"x\"]\n\n\
         [tls]\nca_cert = \"/x\"\n"
    );
}

#[test]
fn inline_rule_arrays_stay_inline() {
    let mut e = editor("[herald]\nrules = [{ id = \"a\", packages = [\"x\"] }]\n");
    e.upsert_rule(&rule("b", Action::Drop, &["y"]))
        .expect("upsert");
    e.upsert_rule(&rule("a", Action::History, &["z"]))
        .expect("upsert");
    let rules = e.config().expect("valid").herald.rules;
    assert_eq!(
        rules,
        [
            rule("a", Action::History, &["z"]),
            rule("b", Action::Drop, &["y"])
        ]
    );
    assert!(e.remove_rule("a"));
    assert_eq!(e.rules().expect("rules").len(), 1);
}

#[test]
fn rules_parse_alone_as_a_list_or_as_in_the_config() {
    let p = Path::new("r.toml");
    let one = parse_rules("id = \"a\"\npackages = [\"x\"]\n", p).expect("one");
    assert_eq!(one, [rule("a", Action::Notify, &["x"])]);
    let list = parse_rules("[[rules]]\nid = \"a\"\n[[rules]]\nid = \"b\"\n", p).expect("list");
    assert_eq!(list.len(), 2);
    let nested = parse_rules("[[herald.rules]]\nid = \"a\"\n", p).expect("nested");
    assert_eq!(nested[0].id, "a");
    let typo = parse_rules("id = \"a\"\ntopic = [\"x\"]\n", p).expect_err("typo");
    assert!(matches!(typo, ConfigError::Parse { .. }));
    let snippet = rule_snippet(&one[0]).expect("snippet");
    assert_eq!(parse_rules(&snippet, p).expect("back"), one);
}

#[test]
fn invalid_toml_is_a_config_error() {
    let err = ConfigEditor::from_text("[herald\n", Path::new("c.toml")).expect_err("invalid");
    assert!(matches!(err, ConfigError::Invalid { .. }), "{err}");
}

#[test]
fn save_is_atomic_and_missing_files_are_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sub/config.toml");
    let mut e = ConfigEditor::load(&path).expect("missing is empty");
    assert!(!e.is_changed());
    e.upsert_rule(&rule("a", Action::Notify, &["x"]))
        .expect("upsert");
    e.save().expect("save");
    let back = ConfigEditor::load(&path).expect("load");
    assert_eq!(back.text(), e.text());
    let mut entries: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|d| d.file_name())
        .collect();
    entries.sort();
    // No temporary file is left; the lock stays for the next writer.
    assert_eq!(
        entries,
        [
            std::ffi::OsString::from(".config.toml.lock"),
            std::ffi::OsString::from("config.toml")
        ]
    );
    let cfg = Config::load(&path, false).expect("loads");
    assert_eq!(cfg.herald.rules, [rule("a", Action::Notify, &["x"])]);
}

#[test]
fn keys_follow_the_rule_order_and_unless_is_inline() {
    let mut r = rule("k", Action::History, &["p"]);
    r.when.skip_own = true;
    r.when.topics = vec!["a.#".into()];
    r.priority = 7;
    r.unless = Some(Conditions {
        skip_own: true,
        packages: Names {
            any: Vec::new(),
            all: vec!["a".into(), "b".into()],
        },
        ..Conditions::default()
    });
    assert_eq!(
        rule_snippet(&r).expect("snippet"),
        "[[herald.rules]]\nid = \"k\"\npriority = 7\naction = \"history\"\ntopics = [\"a.#\"]\n\
         packages = [\"p\"]\nskip_own = true\n\
         unless = { packages = { all = [\"a\", \"b\"] }, skip_own = true }\n"
    );
    assert_eq!(
        parse_rules(&rule_snippet(&r).expect("snippet"), Path::new("r")).expect("parses"),
        [r]
    );
}
