//! `herald rules` end to end through the real binary, no broker needed: draft rules tested
//! against an imported fixture history, and the config file edited in place — comments kept,
//! defaults never written, nothing changed when the result would not load.

use herald_core::message::Message;
use herald_e2e::herald::{all_fixtures, fixture_dirs, output_text, HeraldDir};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Output;

const COMMENTED: &str = "# Herald, my way.\n\
                         [herald]\n\
                         retention_days = 30   # a month is enough\n\
                         \n\
                         # Who I am.\n\
                         [herald.profile]\n\
                         users = [\"spot\"]   # my FAS name\n";

fn ok(dir: &HeraldDir, args: &[&str]) -> Output {
    dir.run_ok(args)
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {}", output_text(out)))
}

fn config_text(dir: &HeraldDir) -> String {
    std::fs::read_to_string(dir.config()).expect("read config")
}

/// `rules list --json`: (id, origin) of every rule in force.
fn listed(dir: &HeraldDir) -> Vec<(String, String)> {
    let v = json(&ok(dir, &["rules", "list", "--json"]));
    v["rules"]
        .as_array()
        .expect("rules array")
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap_or_default().to_owned(),
                r["origin"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The distinct stored messages of the corpus whose headers name the chromium package.
fn chromium_messages() -> usize {
    let now = time::OffsetDateTime::now_utc();
    let mut ids = BTreeSet::new();
    for (path, f) in all_fixtures() {
        let named = f
            .headers
            .as_ref()
            .and_then(|h| h.get("fedora_messaging_rpm_chromium"))
            == Some(&Value::Bool(true));
        if !named {
            continue;
        }
        let env = f
            .envelope(now)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let msg = Message::decode(env);
        // Quarantined deliveries are not in the history.
        if msg.quarantine.is_none() {
            ids.insert(msg.id);
        }
    }
    ids.len()
}

#[test]
fn draft_rule_is_tested_against_the_imported_history_without_saving() {
    let dir = HeraldDir::new("");
    let mut import = vec!["import".to_owned()];
    import.extend(fixture_dirs().iter().map(|d| d.display().to_string()));
    let import: Vec<&str> = import.iter().map(String::as_str).collect();
    ok(&dir, &import);
    let expected = chromium_messages();
    assert!(expected > 0, "the corpus names chromium in some headers");

    let args = [
        "rules",
        "test",
        "--package",
        "chromium",
        "--action",
        "notify",
        "--id",
        "t",
    ];
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let report = json(&ok(&dir, &with_json));
    assert_eq!(report["with"]["notify"], expected, "{report:#}");
    // No rules configured: everything is kept today; with the draft, only chromium is.
    assert_eq!(report["without"]["notify"], 0, "{report:#}");
    assert_eq!(report["without"]["drop"], 0, "{report:#}");
    let scanned = report["scanned"].as_u64().expect("scanned");
    assert_eq!(
        report["with"]["drop"].as_u64(),
        Some(scanned - expected as u64),
        "{report:#}"
    );
    let draft = &report["drafts"][0];
    assert_eq!(draft["id"], "t");
    assert_eq!(draft["matches"], expected);
    assert_eq!(draft["decides"], expected);
    let samples = draft["samples"].as_array().expect("samples");
    assert_eq!(samples.len(), expected.min(3));
    for s in samples {
        let summary = s["summary"].as_str().unwrap_or_default().to_lowercase();
        assert!(summary.contains("chromium"), "{s:#}");
    }

    let text = ok(&dir, &args);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("chromium"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "draft rule t (notify): matches {expected} messages"
        )),
        "{stdout}"
    );
    assert_eq!(config_text(&dir), "", "rules test saves nothing");
}

#[test]
fn add_list_and_remove_keep_the_users_comments() {
    let dir = HeraldDir::new(COMMENTED);
    let out = ok(
        &dir,
        &[
            "rules",
            "add",
            "--id",
            "chromium",
            "--package",
            "chromium",
            "--action",
            "notify",
            "--body",
            "/build_id=1",
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("added rule chromium"),
        "{}",
        output_text(&out)
    );
    let text = config_text(&dir);
    assert!(text.starts_with(COMMENTED), "{text}");
    assert!(
        text.contains("[[herald.rules]]\nid = \"chromium\"\n"),
        "{text}"
    );
    assert!(
        !text.contains("priority"),
        "the default priority is not written: {text}"
    );
    let rules = listed(&dir);
    assert!(
        rules.contains(&("chromium".to_owned(), "config".to_owned())),
        "{rules:?}"
    );
    assert!(rules
        .iter()
        .any(|(id, o)| id == "koji-mine" && o == "default"));

    ok(&dir, &["rules", "remove", "chromium"]);
    assert_eq!(config_text(&dir), COMMENTED);
    assert!(listed(&dir).iter().all(|(id, _)| id != "chromium"));
}

#[test]
fn removing_a_default_rule_writes_disabled_and_edit_brings_it_back() {
    let dir = HeraldDir::new(COMMENTED);
    ok(&dir, &["rules", "remove", "koji-mine"]);
    let text = config_text(&dir);
    assert!(text.starts_with(COMMENTED), "{text}");
    assert!(
        text.ends_with("[[herald.rules]]\nid = \"koji-mine\"\ndisabled = true\n"),
        "{text}"
    );
    assert!(listed(&dir).iter().all(|(id, _)| id != "koji-mine"));

    ok(&dir, &["rules", "edit", "koji-mine", "--enable"]);
    assert_eq!(config_text(&dir), COMMENTED);

    ok(
        &dir,
        &["rules", "edit", "koji-mine-finished", "--priority", "5"],
    );
    let rules = listed(&dir);
    assert_eq!(
        rules.first(),
        Some(&("koji-mine-finished".to_owned(), "override".to_owned()))
    );
    ok(
        &dir,
        &["rules", "edit", "koji-mine-finished", "--priority", "100"],
    );
    assert_eq!(
        config_text(&dir),
        COMMENTED,
        "back to the default: nothing written"
    );
}

#[test]
fn mistakes_exit_2_and_leave_the_file_unchanged() {
    let dir = HeraldDir::new(COMMENTED);
    let bad = dir.run(&["rules", "add", "--id", "bad", "--body", "/name~("]);
    assert_eq!(bad.status.code(), Some(2), "{}", output_text(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("regex"),
        "{}",
        output_text(&bad)
    );
    assert_eq!(config_text(&dir), COMMENTED);

    ok(
        &dir,
        &[
            "rules", "add", "--id", "mine", "--user", "spot", "--action", "history",
        ],
    );
    let before = config_text(&dir);
    let again = dir.run(&["rules", "add", "--id", "mine", "--package", "x"]);
    assert_eq!(again.status.code(), Some(2), "{}", output_text(&again));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("rules edit mine"),
        "{}",
        output_text(&again)
    );
    assert_eq!(config_text(&dir), before);

    let unknown = dir.run(&["rules", "remove", "no-such-rule"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", output_text(&unknown));
    assert_eq!(config_text(&dir), before);
}
