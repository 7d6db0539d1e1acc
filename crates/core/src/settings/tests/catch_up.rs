//! The catch-up keys on real files: read as the config reads them, written as one line each,
//! left alone when the window's value means what the file says, and refused with their
//! field when the config would refuse them.

use super::*;
use crate::config::FEDORA_DATAGREPPER;
use std::time::Duration;

#[test]
fn settings_catch_up_defaults_are_fedoras_archive_and_three_days() {
    for dir in [with_config(None), with_config(Some(COMMENTED))] {
        let s = load(&dir.path);
        assert!(s.catch_up);
        assert_eq!(s.catch_up_max, "3d");
        assert_eq!(s.datagrepper_url, FEDORA_DATAGREPPER);
    }
    let v = serde_json::to_value(load(&with_config(None).path)).expect("json");
    assert_eq!(v["catch_up"], true);
    assert_eq!(v["catch_up_max"], "3d");
    assert_eq!(v["datagrepper_url"], FEDORA_DATAGREPPER);
}

#[test]
fn settings_catch_up_round_trips_through_the_file() {
    let dir = with_config(Some(COMMENTED));
    let mut s = load(&dir.path);
    s.catch_up = false;
    s.catch_up_max = " 12h ".to_owned();
    s.datagrepper_url = "https://archive.example/datagrepper/".to_owned();
    assert!(save(&dir.path, &s).expect("save").changed);
    let after = text(&dir.path);
    let (mut added, removed) = changed_lines(COMMENTED, &after);
    added.sort();
    assert_eq!(
        added,
        [
            "catch_up = false",
            "catch_up_max = \"12h\"",
            "datagrepper_url = \"https://archive.example/datagrepper/\""
        ]
    );
    assert!(removed.is_empty(), "{removed:?}");
    assert!(after.contains("# a month is enough"), "{after}");

    let cfg = Config::load(&dir.path, false).expect("the config loads");
    assert!(!cfg.herald.catch_up);
    assert_eq!(cfg.herald.catch_up_max(), Duration::from_secs(12 * 3600));
    assert_eq!(
        cfg.herald.datagrepper_url,
        "https://archive.example/datagrepper/"
    );
    s.catch_up_max = "12h".to_owned();
    assert_same(load(&dir.path), &s);
    // The window reads the settings again after a save: what it saved is its new base.
    s.base = load(&dir.path).base;

    // Back to the defaults, spelled otherwise: the keys go.
    s.catch_up = true;
    s.catch_up_max = "72h".to_owned();
    s.datagrepper_url = "https://apps.fedoraproject.org/datagrepper".to_owned();
    save(&dir.path, &s).expect("save");
    let after = text(&dir.path);
    for key in ["catch_up", "datagrepper_url"] {
        assert!(!after.contains(key), "{key} left in {after}");
    }
    assert_eq!(load(&dir.path).catch_up_max, "3d");
}

#[test]
fn settings_catch_up_spelled_otherwise_leaves_the_file_alone() {
    let original = "[herald]\ncatch_up_max = \"72h\"   # three days\n\
                    datagrepper_url = \"https://archive.example/dg\"\n";
    let dir = with_config(Some(original));
    let mut s = load(&dir.path);
    assert_eq!(
        (s.catch_up_max.as_str(), s.datagrepper_url.as_str()),
        ("72h", "https://archive.example/dg")
    );
    s.catch_up_max = "3d".to_owned();
    s.datagrepper_url = "https://archive.example/dg/".to_owned();
    assert!(!save(&dir.path, &s).expect("save").changed);
    assert_eq!(text(&dir.path), original);

    // A real change keeps the key's comment.
    s.catch_up_max = "1w".to_owned();
    save(&dir.path, &s).expect("save");
    let (added, removed) = changed_lines(original, &text(&dir.path));
    assert_eq!(added, ["catch_up_max = \"1w\"   # three days"]);
    assert_eq!(removed, ["catch_up_max = \"72h\"   # three days"]);
}

#[test]
fn settings_catch_up_invalid_values_name_their_field_and_write_nothing() {
    let dir = with_config(Some(COMMENTED));
    let base = load(&dir.path);
    let cases: Vec<(Change, &str, &str)> = vec![
        (
            Box::new(|s| s.catch_up_max = " ".into()),
            "catch_up_max",
            "empty",
        ),
        (
            Box::new(|s| s.catch_up_max = "3 days".into()),
            "catch_up_max",
            "12h, 3d or 1w",
        ),
        (
            Box::new(|s| s.catch_up_max = "-1d".into()),
            "catch_up_max",
            "not a length",
        ),
        (
            Box::new(|s| s.catch_up_max = "3y".into()),
            "catch_up_max",
            "not a length",
        ),
        (
            Box::new(|s| s.datagrepper_url = "".into()),
            "datagrepper_url",
            "empty",
        ),
        (
            Box::new(|s| s.datagrepper_url = "apps.fedoraproject.org/datagrepper".into()),
            "datagrepper_url",
            "not a web address",
        ),
        (
            Box::new(|s| s.datagrepper_url = "ftp://archive.example/".into()),
            "datagrepper_url",
            "http:// or https://",
        ),
        (
            Box::new(|s| s.datagrepper_url = "amqps://rabbitmq.fedoraproject.org/".into()),
            "datagrepper_url",
            "http:// or https://",
        ),
        (
            Box::new(|s| s.datagrepper_url = "https://me:hunter2@archive.example/".into()),
            "datagrepper_url",
            "user or password",
        ),
        // Off does not make a broken value acceptable: the config would refuse it all the same.
        (
            Box::new(|s| {
                s.catch_up = false;
                s.catch_up_max = "soon".into();
            }),
            "catch_up_max",
            "not a length",
        ),
    ];
    for (change, field, reason) in cases {
        let mut s = base.clone();
        change(&mut s);
        let err = save(&dir.path, &s).expect_err(field);
        let shown = err.to_string();
        assert_eq!(err.field(), Some(field), "{shown}");
        assert_eq!(err.kind(), SettingsErrorKind::Invalid);
        assert!(shown.starts_with(&format!("{field}: ")), "{shown}");
        assert!(shown.contains(reason), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(text(&dir.path), COMMENTED, "nothing may be written");
    }
}
