//! `herald packages` and `herald package` on histories filled by `herald import` from the
//! chain fixtures (`tests/fixtures/chains`): which packages a profile selects, the JSON
//! shapes, the gating settle window from the config, `--rebuild` agreeing with the model
//! kept as messages were stored, messages delivered late, and terminal-safe text.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn chains() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/chains")
}

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new(config: &str) -> Home {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("config.toml"), config).expect("config");
        Home { dir }
    }

    fn config(&self, config: &str) {
        std::fs::write(self.dir.path().join("config.toml"), config).expect("config");
    }

    fn run(&self, args: &[&str]) -> Output {
        let p = self.dir.path();
        Command::new(env!("CARGO_BIN_EXE_herald"))
            .arg("--config")
            .arg(p.join("config.toml"))
            .arg("--db")
            .arg(p.join("history.db"))
            .args(args)
            .env_remove("HERALD_CONFIG")
            .env_remove("HERALD_DB")
            .env("HOME", p)
            .env("XDG_CONFIG_HOME", p.join("xdg-config"))
            .env("XDG_DATA_HOME", p.join("xdg-data"))
            .output()
            .expect("run herald")
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "herald {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn import(&self, chain: &str) {
        let dir = chains().join(chain);
        let out = self.ok(&["import", dir.to_str().expect("utf-8 path")]);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("0 quarantined"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    fn json(&self, args: &[&str]) -> Vec<Value> {
        let out = self.ok(args);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    fn names(&self, args: &[&str]) -> Vec<String> {
        self.json(args)
            .iter()
            .map(|p| p["package"].as_str().expect("package").to_owned())
            .collect()
    }
}

/// python-rich after its whole chain: 14.1.0 built for f43, pushed to stable with gating
/// passed and +1 karma.
fn rich_done() -> Value {
    json!({
        "package": "python-rich",
        "upstream": {"version": "14.1.0", "sent_at": "2025-10-06T09:00:00Z"},
        "branches": [{
            "branch": "f43",
            "build": {
                "nvr": "python-rich-14.1.0-1.fc43",
                "state": "complete",
                "sent_at": "2025-10-07T14:06:40Z",
                "url": "https://koji.fedoraproject.org/koji/buildinfo?buildID=2812345"
            },
            "update": {
                "alias": "FEDORA-2025-7e3c1a9b42",
                "status": "stable",
                "gating": "passed",
                "gating_settled": true,
                "karma": 1,
                "url": "https://bodhi.fedoraproject.org/updates/FEDORA-2025-7e3c1a9b42",
                "user": "ferris"
            },
            "stable": null,
            "ci": "passed fedora-ci.koji-build.tier0 python-rich-14.1.0-1.fc43"
        }],
        "ftbfs": null,
        "behind_upstream": false,
        "behind_since": null,
        "fedora_version": "14.1.0",
        "changed_at": "2025-10-14T01:00:00Z"
    })
}

#[test]
fn the_profile_chooses_the_packages_and_the_json_has_the_model_shape() {
    let home = Home::new("");
    home.import("python-rich-f43");
    home.import("fastfetch-rawhide");

    // No profile: every package, by name.
    let all = home.json(&["packages", "--json"]);
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[1], rich_done());
    assert_eq!(all[0]["package"], "fastfetch");
    assert_eq!(all[0]["branches"][0]["branch"], "rawhide");
    assert_eq!(all[0]["branches"][0]["update"]["status"], "stable");

    // Watched packages, the packages the profile's people built or submitted, or both.
    home.config("[herald.profile]\npackages = [\"python-rich\"]\n");
    assert_eq!(home.names(&["packages", "--json"]), ["python-rich"]);
    home.config("[herald.profile]\nusers = [\"bob\"]\n");
    assert_eq!(home.names(&["packages", "--json"]), ["fastfetch"]);
    home.config("[herald.profile]\nusers = [\"alice\"]\n");
    assert!(
        home.names(&["packages", "--json"]).is_empty(),
        "a commenter is neither builder nor submitter"
    );
    home.config("[herald.profile]\nusers = [\"bob\"]\npackages = [\"python-rich\"]\n");
    assert_eq!(
        home.names(&["packages", "--json"]),
        ["fastfetch", "python-rich"]
    );
    // Names on the command line win over the profile.
    assert_eq!(
        home.names(&["packages", "--json", "python-rich"]),
        ["python-rich"]
    );

    // An unknown name: nothing printed, a note on stderr, success (as `search` does).
    let out = home.ok(&["packages", "--json", "no-such-package"]);
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "no package no-such-package in the history"
    );
    let out = home.ok(&["package", "no-such-package"]);
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "no package no-such-package in the history"
    );
}

#[test]
fn the_settle_window_comes_from_the_config() {
    let home = Home::new("[herald.packages]\ngating_settle = \"520w\"\n");
    home.import("python-rich-f43");
    let mut want = rich_done();
    // Passed in October 2025, which is less than ten years ago.
    want["branches"][0]["update"]["gating_settled"] = json!(false);
    assert_eq!(home.json(&["packages", "--json"]), [want]);
    let text = String::from_utf8_lossy(&home.ok(&["packages"]).stdout).into_owned();
    assert!(text.contains("gating passed (settling)"), "{text}");

    home.config("[herald.packages]\ngating_settle = \"1m\"\n");
    assert_eq!(home.json(&["packages", "--json"]), [rich_done()]);
    let text = String::from_utf8_lossy(&home.ok(&["packages"]).stdout).into_owned();
    assert!(
        text.starts_with("python-rich  upstream 14.1.0 (")
            && text.contains(
                "f43: python-rich-14.1.0-1.fc43 complete, FEDORA-2025-7e3c1a9b42 stable, \
                 gating passed, karma +1\n"
            ),
        "{text}"
    );
}

#[test]
fn late_messages_take_their_place_and_a_rebuild_agrees() {
    let home = Home::new("");
    home.import("python-rich-f43");
    let before = home.json(&["packages", "--json"]);
    assert_eq!(before, [rich_done()]);
    let timeline = home.json(&["package", "python-rich", "--json"]);
    let stages: Vec<&str> = timeline
        .iter()
        .map(|e| e["stage"].as_str().expect("stage"))
        .collect();
    assert_eq!(
        stages,
        [
            "build", "upstream", "hotness", "build", "build", "tag", "update", "update", "ci",
            "gating", "gating", "gating", "gating", "feedback", "update"
        ]
    );
    let gating: Vec<&str> = timeline
        .iter()
        .filter(|e| e["stage"] == "gating")
        .map(|e| e["state"].as_str().expect("state"))
        .collect();
    assert_eq!(
        gating,
        [
            "failed: 1 of 3 required tests failed, 1 result missing",
            "waiting: 2 of 3 required test results missing",
            "failed: 1 of 3 required tests failed",
            "passed: All required tests passed"
        ]
    );

    // An older build, an older failed decision and an older stable request, delivered
    // after the chain: the state stays; the timeline puts them where they were sent.
    home.import("python-rich-f43-late");
    assert_eq!(home.json(&["packages", "--json"]), before);
    let timeline = home.json(&["package", "python-rich", "--json"]);
    assert_eq!(timeline.len(), 18);
    let sent: Vec<&str> = timeline
        .iter()
        .map(|e| e["sent_at"].as_str().expect("sent_at"))
        .collect();
    let mut sorted = sent.clone();
    sorted.sort();
    assert_eq!(sent, sorted, "in the order they were sent");
    assert_eq!(timeline[1]["nvr"], "python-rich-14.0.0-2.fc43");
    assert_eq!(timeline[1]["stage"], "build");
    for e in &timeline {
        for key in [
            "id", "sent_at", "stage", "branch", "version", "nvr", "state", "summary", "url",
        ] {
            assert!(e.get(key).is_some(), "{key} missing from {e}");
        }
    }

    // The model rebuilt from the stored messages is the one kept as they arrived.
    let out = home.ok(&["packages", "--json", "--rebuild"]);
    let rebuilt: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(rebuilt, before);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.starts_with("rebuilt the package model from the history in "),
        "{said}"
    );
    assert_eq!(home.json(&["package", "python-rich", "--json"]), timeline);
}

#[test]
fn package_text_is_escaped_and_links_show_their_host() {
    let home = Home::new("");
    home.import("python-rich-f43");
    // A build whose package name turns text around and whose release carries an escape.
    let hostile = home.dir.path().join("hostile.json");
    let mut fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(chains().join("python-rich-f43/04-build-complete.json"))
            .expect("fixture"),
    )
    .expect("json");
    fixture["properties"]["message_id"] = json!("hostile-1");
    fixture["body"]["name"] = json!("rich\u{202e}live");
    fixture["body"]["release"] = json!("1.fc43\u{1b}[2J");
    std::fs::write(&hostile, fixture.to_string()).expect("write");
    home.ok(&["import", hostile.to_str().expect("utf-8")]);

    let text = home.ok(&["packages"]).stdout;
    let text = String::from_utf8_lossy(&text);
    assert!(!text.contains(['\u{1b}', '\u{202e}', '\r']), "{text:?}");
    assert!(text.contains(r"rich\u{202e}live"), "{text}");

    let timeline =
        String::from_utf8_lossy(&home.ok(&["package", "python-rich"]).stdout).into_owned();
    let lines: Vec<&str> = timeline.lines().collect();
    assert!(
        lines[0].starts_with("python-rich  upstream 14.1.0"),
        "{timeline}"
    );
    assert!(
        lines.contains(
            &"2025-10-07 14:10  update   f43      requested testing · ferris submitted their \
              update FEDORA-2025-7e3c1a9b42 (python-rich-14.1.0-1.fc43) to testing"
        ),
        "{timeline}"
    );
    assert!(
        lines.contains(
            &"                  bodhi.fedoraproject.org \
              https://bodhi.fedoraproject.org/updates/FEDORA-2025-7e3c1a9b42"
        ),
        "{timeline}"
    );
    let weird =
        String::from_utf8_lossy(&home.ok(&["package", "rich\u{202e}live"]).stdout).into_owned();
    assert!(!weird.contains(['\u{1b}', '\u{202e}']), "{weird:?}");
    assert!(weird.contains(r"\u{202e}"), "{weird}");
}
