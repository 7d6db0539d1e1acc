//! Settings round trips on real files: unchanged settings leave the file byte for byte,
//! one change touches one key, defaults remove keys, comments survive, and nothing invalid
//! (a password in a URL above all) is ever written.

use super::*;
use crate::config::{Config, FEDORA_PUBLIC_URL};
use crate::error::SecretError;
use crate::secrets::SecretKind;
use std::path::{Path, PathBuf};

mod catch_up;
mod writers;

const COMMENTED: &str = r##"# My Herald config.
amqp_url = "amqp://guest@127.0.0.1:5672/%2F"  # local broker

[queues.q]   # the queue
durable = true

[[bindings]]
queue = "q"
exchange = "amq.topic"
routing_keys = ["#"]

[herald]
# a month is enough
retention_days = 30   # days

[herald.profile]
users = ["spot"]   # me

[herald.notifications]
enabled = true   # said explicitly, although it is the default
rate_limit_per_minute = 5

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

[herald.connections.pulp]   # the Pulp broker
amqp_url = "amqps://pulp.example:5671/%2F"
tls = { ca_cert = "/etc/pulp/ca.pem" }
"##;

struct Dir {
    _tmp: tempfile::TempDir,
    path: PathBuf,
}

fn with_config(text: Option<&str>) -> Dir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("herald").join("config.toml");
    if let Some(text) = text {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write config");
    }
    Dir { _tmp: tmp, path }
}

/// Secrets stored for the default connection's password only.
fn stored(connection: &crate::config::Connection, kind: SecretKind) -> Result<bool, SecretError> {
    Ok(connection.name == "default" && kind == SecretKind::Password)
}

fn load(path: &Path) -> Settings {
    Settings::load_with(path, stored).expect("settings load")
}

/// `a` and `b` say the same settings, whatever file text each was read from.
fn assert_same(a: Settings, b: &Settings) {
    let unbased = |s: Settings| Settings { base: None, ..s };
    assert_eq!(unbased(a), unbased(b.clone()));
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read config")
}

/// The lines of `after` that are not in `before`, and the other way round.
fn changed_lines(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
    let b: Vec<&str> = before.lines().collect();
    let a: Vec<&str> = after.lines().collect();
    let added = a
        .iter()
        .filter(|l| !b.contains(l))
        .map(|l| (*l).to_owned())
        .collect();
    let removed = b
        .iter()
        .filter(|l| !a.contains(l))
        .map(|l| (*l).to_owned())
        .collect();
    (added, removed)
}

#[test]
fn settings_load_reads_every_field_without_secrets() {
    let dir = with_config(Some(COMMENTED));
    let s = load(&dir.path);
    assert_eq!(s.connections.len(), 2);
    let d = &s.connections[0];
    assert_eq!(d.name, "default");
    assert_eq!(d.url, "amqp://127.0.0.1:5672/%2F");
    assert_eq!(d.username.as_deref(), Some("guest"));
    assert!(d.has_password && !d.has_key_passphrase);
    assert_eq!((&d.ca_cert, &d.certfile, &d.keyfile), (&None, &None, &None));
    let p = &s.connections[1];
    assert_eq!(
        (p.name.as_str(), p.url.as_str()),
        ("pulp", "amqps://pulp.example:5671/%2F")
    );
    assert_eq!(p.username, None);
    assert_eq!(p.ca_cert.as_deref(), Some("/etc/pulp/ca.pem"));
    assert!(!p.has_password);
    assert_eq!(s.profile.users, ["spot"]);
    assert_eq!(
        s.unmatched,
        Action::Drop,
        "rules exist, so unmatched messages drop"
    );
    assert_eq!(s.notifications.rate_limit_per_minute, 5);
    assert_eq!((s.retention_days, s.retention_max_rows), (30, 2_000_000));
    assert_eq!(s.config_path, dir.path.to_string_lossy());
    // The rules as written, comments included, and they parse back to the same rules.
    assert!(s
        .rules_toml
        .starts_with("# Chromium releases are important.\n[[herald.rules]]"));
    assert!(s.rules_toml.contains("# keep this one"), "{}", s.rules_toml);
    assert!(!s.rules_toml.contains("pulp"), "{}", s.rules_toml);
    let rules = validate::parse_rules(&s.rules_toml).expect("rules parse");
    let cfg = Config::load(&dir.path, false).expect("config");
    assert_eq!(rules, cfg.herald.rules);
}

#[test]
fn settings_without_a_file_are_the_fedora_defaults() {
    let dir = with_config(None);
    let s = load(&dir.path);
    let d = &s.connections[0];
    assert_eq!(
        url::split(FEDORA_PUBLIC_URL),
        (d.url.clone(), d.username.clone())
    );
    assert_eq!(d.username.as_deref(), Some("fedora"));
    assert!(d
        .certfile
        .as_deref()
        .is_some_and(|c| c.ends_with("fedora-cert.pem")));
    assert_eq!(s.rules_toml, "");
    assert_eq!(s.unmatched, Action::History);
    assert_eq!(
        s.notifications,
        NotifySettings::from(&crate::notify::NotifySettings::default())
    );
    // Saving the defaults writes nothing, not even an empty file.
    let report = save(&dir.path, &s).expect("save");
    assert!(!report.changed);
    assert!(!dir.path.exists());
}

#[test]
fn settings_saved_unchanged_leave_the_file_byte_identical() {
    for original in [
        COMMENTED,
        "",
        "# only a comment\n",
        "[herald]\nunmatched = \"drop\"\n",
    ] {
        let dir = with_config(Some(original));
        let s = load(&dir.path);
        let report = save(&dir.path, &s).expect("save");
        assert!(!report.changed, "{original:?} was rewritten");
        assert_eq!(text(&dir.path), original);
        assert_same(load(&dir.path), &s);
    }
}

#[test]
fn settings_one_change_writes_one_key_and_keeps_comments() {
    let dir = with_config(Some(COMMENTED));
    let mut s = load(&dir.path);
    s.retention_days = 90;
    let report = save(&dir.path, &s).expect("save");
    assert!(report.changed);
    assert_eq!(report.path, dir.path.to_string_lossy());
    let after = text(&dir.path);
    let (added, removed) = changed_lines(COMMENTED, &after);
    assert_eq!(added, ["retention_days = 90   # days"]);
    assert_eq!(removed, ["retention_days = 30   # days"]);
    assert_same(load(&dir.path), &s);

    // A new key goes into its table, and nothing else moves.
    s.notifications.digest_window_secs = 120;
    save(&dir.path, &s).expect("save");
    let (added, removed) = changed_lines(&after, &text(&dir.path));
    assert_eq!(added, ["digest_window_secs = 120"]);
    assert!(removed.is_empty(), "{removed:?}");
    assert_same(load(&dir.path), &s);
}

#[test]
fn settings_a_default_value_removes_its_key() {
    let dir = with_config(Some(COMMENTED));
    let mut s = load(&dir.path);
    s.retention_days = 365;
    s.notifications.rate_limit_per_minute = 10;
    s.profile.users.clear();
    save(&dir.path, &s).expect("save");
    let after = text(&dir.path);
    assert!(!after.contains("retention_days"), "{after}");
    assert!(!after.contains("rate_limit_per_minute"), "{after}");
    assert!(
        !after.contains("[herald.profile]"),
        "emptied table left behind: {after}"
    );
    // An explicit default the user did not change stays as written.
    assert!(
        after.contains("enabled = true   # said explicitly"),
        "{after}"
    );
    assert!(
        after.contains("# Chromium releases are important."),
        "{after}"
    );
    assert_same(load(&dir.path), &s);
}

#[test]
fn settings_refuse_a_password_in_the_url_and_write_nothing() {
    let dir = with_config(Some(COMMENTED));
    let mut s = load(&dir.path);
    s.connections[0].url = "amqps://u:hunter2@broker.example/%2F".to_owned();
    s.connections[0].username = None;
    s.retention_days = 7;
    let err = save(&dir.path, &s).expect_err("refused");
    let shown = format!("{err} {err:?}");
    assert_eq!(err.kind(), SettingsErrorKind::Invalid);
    assert_eq!(err.field(), Some("connections.default.url"));
    assert!(shown.contains("password field"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert_eq!(text(&dir.path), COMMENTED, "nothing may be written");
}

/// One change to otherwise valid settings.
type Change = Box<dyn Fn(&mut Settings)>;

#[test]
fn settings_invalid_values_name_their_field() {
    let dir = with_config(Some(COMMENTED));
    let base = load(&dir.path);
    let cases: Vec<(Change, &str)> = vec![
        (
            Box::new(|s| s.rules_toml = "[[herald.rules]]\nid = \"x\"\nactoin = \"notify\"".into()),
            "rules_toml",
        ),
        (
            Box::new(|s| s.rules_toml = "not toml at all".into()),
            "rules_toml",
        ),
        (
            Box::new(|s| {
                s.rules_toml =
                    "[[herald.rules]]\nid = \"x\"\nbody = [{ pointer = \"/a\", matches = \"(\" }]"
                        .into()
            }),
            "rules_toml",
        ),
        (
            Box::new(|s| {
                s.notifications.quiet_hours = Some(QuietHours {
                    start: "25:00".into(),
                    end: "07:00".into(),
                })
            }),
            "notifications.quiet_hours",
        ),
        (Box::new(|s| s.retention_days = 1_000_000), "retention_days"),
        (
            Box::new(|s| s.retention_max_rows = u64::MAX),
            "retention_max_rows",
        ),
        (
            Box::new(|s| s.notifications.digest_window_secs = 10_000_000),
            "notifications.digest_window_secs",
        ),
        (
            Box::new(|s| s.profile.packages.push(" ".into())),
            "profile.packages",
        ),
        (
            Box::new(|s| s.connections[1].name = "default".into()),
            "connections.default.name",
        ),
        (
            Box::new(|s| s.connections[1].name = "a b".into()),
            "connections.a b.name",
        ),
        (Box::new(|s| s.connections.swap(0, 1)), "connections"),
        (
            Box::new(|s| s.connections[0].url = "https://x/".into()),
            "connections.default.url",
        ),
        (
            Box::new(|s| s.connections[1].keyfile = Some("/k.pem".into())),
            "connections.pulp.certfile",
        ),
    ];
    for (change, field) in cases {
        let mut s = base.clone();
        change(&mut s);
        let err = save(&dir.path, &s).expect_err(field);
        assert_eq!(err.field(), Some(field), "{err}");
        assert!(err.to_string().starts_with(&format!("{field}: ")), "{err}");
        assert_eq!(err.kind().as_str(), "invalid");
        assert_eq!(text(&dir.path), COMMENTED);
    }
}

#[test]
fn settings_rules_text_edits_only_the_rules_that_changed() {
    let dir = with_config(Some(COMMENTED));
    let mut s = load(&dir.path);
    // Change one rule, add one: the other keeps its comment and text, the changed one its
    // comment above.
    s.rules_toml = s.rules_toml.replace(
        "packages = [\"chromium\"]",
        "packages = [\"chromium\", \"firefox\"]",
    );
    s.rules_toml
        .push_str("\n[[herald.rules]]\nid = \"koji\"\naction = \"drop\"\nsources = [\"koji\"]\n");
    save(&dir.path, &s).expect("save");
    let after = text(&dir.path);
    assert!(
        after.contains("# Chromium releases are important.\n[[herald.rules]]\nid = \"chromium\""),
        "{after}"
    );
    assert!(
        after.contains("packages = [\"chromium\", \"firefox\"]"),
        "{after}"
    );
    assert!(
        after.contains("# Everything else about my packages.\n[[herald.rules]]\nid = \"mine\""),
        "{after}"
    );
    assert!(
        after.contains("id = \"koji\"\naction = \"drop\"\nsources = [\"koji\"]"),
        "{after}"
    );
    let cfg = Config::load(&dir.path, false).expect("loads");
    let ids: Vec<&str> = cfg.herald.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["chromium", "mine", "koji"]);

    // Reordered and one removed.
    let mut s = load(&dir.path);
    s.rules_toml = "[[herald.rules]]\nid = \"koji\"\naction = \"drop\"\nsources = [\"koji\"]\n\n\
                    [[herald.rules]]\nid = \"chromium\"\naction = \"notify\"\n\
                    packages = [\"chromium\", \"firefox\"]\n"
        .to_owned();
    save(&dir.path, &s).expect("save");
    let cfg = Config::load(&dir.path, false).expect("loads");
    let ids: Vec<&str> = cfg.herald.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["koji", "chromium"]);
    let after = text(&dir.path);
    assert!(!after.contains("id = \"mine\""), "{after}");
    assert!(
        after.contains("[herald.connections.pulp]   # the Pulp broker"),
        "{after}"
    );

    // No rules at all: the key goes, and unmatched messages are now kept by default, so the
    // window's "drop" has to be written to stay in force.
    let mut s = load(&dir.path);
    s.rules_toml = "# nothing yet\n".to_owned();
    s.profile.users.clear();
    save(&dir.path, &s).expect("save");
    let cfg = Config::load(&dir.path, false).expect("loads");
    assert!(cfg.herald.rules.is_empty());
    assert_eq!(cfg.herald.unmatched, Some(Action::Drop));
    assert_eq!(load(&dir.path).unmatched, Action::Drop);
}

#[test]
fn settings_connections_are_written_without_passwords() {
    let dir = with_config(None);
    let mut s = load(&dir.path);
    let d = &mut s.connections[0];
    d.url = "amqp://127.0.0.1:5672/%2F".to_owned();
    d.username = Some("guest".to_owned());
    (d.ca_cert, d.certfile, d.keyfile) = (None, None, None);
    s.connections.push(ConnectionSettings {
        name: "koji".to_owned(),
        url: "amqps://koji.example/%2Fpublic".to_owned(),
        username: Some("me".to_owned()),
        ca_cert: Some("/etc/koji/ca.pem".to_owned()),
        certfile: Some("/etc/koji/me.pem".to_owned()),
        keyfile: Some("/etc/koji/me.key".to_owned()),
        has_password: false,
        has_key_passphrase: false,
    });
    s.notifications.quiet_hours = Some(QuietHours {
        start: "22:00".into(),
        end: "07:00".into(),
    });
    assert!(save(&dir.path, &s).expect("save").changed);
    let written = text(&dir.path);
    assert_eq!(
        written,
        "amqp_url = \"amqp://guest@127.0.0.1:5672/%2F\"\n\n\
         [herald.connections.koji]\namqp_url = \"amqps://me@koji.example/%2Fpublic\"\n\n\
         [herald.connections.koji.tls]\nca_cert = \"/etc/koji/ca.pem\"\n\
         certfile = \"/etc/koji/me.pem\"\nkeyfile = \"/etc/koji/me.key\"\n\n\
         [herald.notifications.quiet_hours]\nstart = \"22:00\"\nend = \"07:00\"\n"
    );
    let back = Settings::load_with(&dir.path, stored).expect("load");
    assert_eq!(
        back.connections,
        s.connections
            .iter()
            .cloned()
            .map(|mut c| {
                c.has_password = c.name == "default";
                c
            })
            .collect::<Vec<_>>()
    );

    // Back to the Fedora defaults: the keys go again; the removed connection goes too.
    let defaults = Settings::load_with(&with_config(None).path, stored).expect("defaults");
    let mut s = back;
    s.connections = defaults.connections.clone();
    s.notifications.quiet_hours = None;
    save(&dir.path, &s).expect("save");
    assert_eq!(text(&dir.path).trim(), "");
}

#[test]
fn settings_serialise_as_the_ipc_contract_says() {
    let dir = with_config(Some(COMMENTED));
    let s = load(&dir.path);
    let v = serde_json::to_value(&s).expect("json");
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&v),
        [
            "base",
            "catch_up",
            "catch_up_max",
            "config_path",
            "connections",
            "datagrepper_url",
            "notifications",
            "profile",
            "retention_days",
            "retention_max_rows",
            "rules_toml",
            "unmatched"
        ]
    );
    assert_eq!(
        keys(&v["connections"][0]),
        [
            "ca_cert",
            "certfile",
            "has_key_passphrase",
            "has_password",
            "keyfile",
            "name",
            "url",
            "username"
        ]
    );
    assert_eq!(
        keys(&v["profile"]),
        [
            "containers",
            "flatpaks",
            "follows",
            "groups",
            "modules",
            "packages",
            "users"
        ]
    );
    assert_eq!(v["notifications"]["quiet_hours"], serde_json::Value::Null);
    assert_eq!(v["connections"][1]["username"], serde_json::Value::Null);
    assert_eq!(v["unmatched"], "drop");
    assert_eq!(v["retention_max_rows"], 2_000_000);
    assert_eq!(v["base"], COMMENTED, "the text the settings were read from");
    let back: Settings = serde_json::from_value(v).expect("round trip");
    assert_eq!(back, s);
    let report = serde_json::to_value(SaveReport {
        path: "/x".into(),
        changed: true,
        conflicts: vec!["rule mute-foo".into()],
    })
    .expect("json");
    assert_eq!(
        report,
        serde_json::json!({ "path": "/x", "changed": true, "conflicts": ["rule mute-foo"] })
    );
    // A page that sends no base saves over the file as it is.
    let mut older = serde_json::to_value(&s).expect("json");
    older.as_object_mut().expect("object").remove("base");
    let older: Settings = serde_json::from_value(older).expect("without base");
    assert_eq!(older.base, None);
}

#[test]
fn settings_errors_map_to_command_error_kinds() {
    let config = SettingsError::from(crate::error::ConfigError::NoHome);
    assert_eq!(config.kind().as_str(), "config");
    let secret = SettingsError::from(SecretError::NoConnectionName {
        kind: SecretKind::Password,
    });
    assert_eq!(secret.kind().as_str(), "secret");
    let history = SettingsError::from(crate::error::HistoryError::BadQuery("x".into()));
    assert_eq!(history.kind().as_str(), "invalid");
    // A keyring that cannot answer stops loading: has_password must not guess.
    let dir = with_config(Some(COMMENTED));
    let err = Settings::load_with(&dir.path, |c, kind| {
        Err(SecretError::Unavailable {
            op: "read",
            connection: c.name.clone(),
            kind,
            reason: "no bus".into(),
        })
    })
    .expect_err("keyring down");
    assert_eq!(err.kind(), SettingsErrorKind::Secret);
}

#[test]
fn settings_probe_refuses_unusable_settings_without_connecting() {
    let c = ConnectionSettings {
        name: "default".into(),
        url: "amqp://u:hunter2@127.0.0.1:1/".into(),
        username: None,
        ca_cert: None,
        certfile: None,
        keyfile: None,
        has_password: false,
        has_key_passphrase: false,
    };
    let r = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(probe(
            &c,
            super::Typed::default(),
            std::path::Path::new("/nonexistent/herald/config.toml"),
            &crate::secrets::SecretStore::new(),
            std::time::Duration::from_secs(1),
        ));
    assert!(!r.ok);
    assert!(r.message.contains("password field"), "{}", r.message);
    assert!(!r.message.contains("hunter2"), "{}", r.message);
}
