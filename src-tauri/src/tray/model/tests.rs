use super::*;
use herald_core::history::InsertReport;
use std::time::Duration;

fn stored(id: &str, summary: &str, action: Action) -> PipelineEvent {
    PipelineEvent::Stored {
        id: id.into(),
        topic: "org.example.test".into(),
        source: "generic".into(),
        severity: 20,
        summary: summary.into(),
        action,
        rule: Some("t".into()),
    }
}

fn connected(name: &str) -> PipelineEvent {
    PipelineEvent::Connected {
        connection: name.into(),
        url: "amqp://localhost/%2F".into(),
        queues: vec!["q".into()],
    }
}

fn connecting(name: &str) -> PipelineEvent {
    PipelineEvent::Connecting {
        connection: name.into(),
        url: "amqp://localhost/%2F".into(),
    }
}

fn disconnected(name: &str, error: &str) -> PipelineEvent {
    PipelineEvent::Disconnected {
        connection: name.into(),
        error: error.into(),
        retry_in: Duration::from_secs(1),
    }
}

fn labels(menu: &MenuModel) -> Vec<&str> {
    menu.0
        .iter()
        .filter_map(|e| match e {
            MenuEntry::Item { label, .. } | MenuEntry::Submenu { label, .. } => {
                Some(label.as_str())
            }
            MenuEntry::Separator => None,
        })
        .collect()
}

fn enabled(menu: &MenuModel, wanted: &MenuId) -> bool {
    menu.0
        .iter()
        .find_map(|e| match e {
            MenuEntry::Item { id, enabled, .. } if id == wanted => Some(*enabled),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{wanted:?} not in the menu"))
}

#[test]
fn menu_ids_round_trip() {
    for id in MenuId::FIXED {
        assert_eq!(MenuId::parse(&id.to_id()), Some(id));
    }
    let message = MenuId::Message("2024-abc:def".into());
    assert_eq!(MenuId::parse(&message.to_id()), Some(message));
    assert_eq!(MenuId::parse("message:"), None);
    let package = MenuId::Package("python-requests".into());
    assert_eq!(package.to_id(), "package:python-requests");
    assert_eq!(MenuId::parse(&package.to_id()), Some(package));
    assert_eq!(MenuId::parse("package:"), None);
    assert_eq!(
        MenuId::parse(&MenuId::MoreBehind.to_id()),
        Some(MenuId::MoreBehind)
    );
    assert_eq!(MenuId::parse("open"), None);
}

#[test]
fn a_fresh_tray_is_starting_with_the_fixed_entries() {
    let now = Instant::now();
    let model = TrayModel::default();
    assert_eq!(model.state(now), TrayState::Normal);
    assert_eq!(model.tooltip(now), "Herald — starting");
    let menu = model.menu(now);
    assert_eq!(
        labels(&menu),
        [
            "Herald — starting",
            "Pause 1 h",
            "Pause until resumed",
            "Resume",
            "Open history",
            "Settings",
            "Quit"
        ]
    );
    assert!(!enabled(&menu, &MenuId::Status));
    assert!(enabled(&menu, &MenuId::PauseHour));
    assert!(enabled(&menu, &MenuId::PauseUntilResumed));
    assert!(!enabled(&menu, &MenuId::Resume));
}

#[test]
fn notified_messages_are_listed_newest_first_and_counted_unread() {
    let now = Instant::now();
    let mut model = TrayModel::default();
    assert!(model.apply(&connected("primary")));
    assert_eq!(model.tooltip(now), "Herald — connected");
    for i in 1..=7 {
        assert!(model.apply(&stored(
            &format!("m{i}"),
            &format!("build {i}"),
            Action::Notify
        )));
    }
    // Kept silently or dropped: not news.
    assert!(!model.apply(&stored("h", "history only", Action::History)));
    assert!(!model.apply(&PipelineEvent::Dropped {
        id: "d".into(),
        topic: "t".into(),
        rule: None,
    }));
    let menu = model.menu(now);
    let listed: Vec<&str> = labels(&menu)[1..=LATEST_MAX].to_vec();
    assert_eq!(
        listed,
        ["build 7", "build 6", "build 5", "build 4", "build 3"]
    );
    assert_eq!(model.unread(), 7);
    assert_eq!(model.state(now), TrayState::Unread);
    assert_eq!(model.tooltip(now), "Herald — connected, 7 unread");
    assert_eq!(menu.0[1], MenuEntry::Separator);
    assert_eq!(menu.0[2 + LATEST_MAX], MenuEntry::Separator);
}

#[test]
fn a_redelivery_is_not_counted_twice() {
    let mut model = TrayModel::default();
    model.apply(&stored("m1", "one", Action::Notify));
    assert!(!model.apply(&stored("m1", "one", Action::Notify)));
    assert_eq!(model.unread(), 1);
    assert_eq!(model.latest().count(), 1);
}

#[test]
fn package_chain_notices_are_listed_with_the_message_they_stem_from() {
    let now = Instant::now();
    let mut model = TrayModel::default();
    model.apply(&connected("primary"));
    let notice = |message: Option<&str>| PipelineEvent::PackageNotice {
        package: "python-rich".into(),
        kind: "gating".into(),
        summary: "python-rich: gating passed (FEDORA-2026-1a2b3c, f43)".into(),
        message: message.map(str::to_owned),
    };
    assert!(model.apply(&notice(Some("g2"))));
    assert_eq!(model.unread(), 1);
    assert_eq!(model.state(now), TrayState::Unread);
    let menu = model.menu(now);
    assert_eq!(
        labels(&menu)[1],
        "python-rich: gating passed (FEDORA-2026-1a2b3c, f43)"
    );
    assert_eq!(
        model.latest().next().map(|r| r.id.as_str()),
        Some("g2"),
        "clicking it opens that message"
    );
    // Its message pruned already: nothing to open, so not listed.
    assert!(!model.apply(&notice(None)));
    assert_eq!(model.unread(), 1);
}

#[test]
fn seeing_messages_clears_unread() {
    let now = Instant::now();
    let mut model = TrayModel::default();
    model.apply(&connected("primary"));
    model.apply(&stored("m1", "one", Action::Notify));
    model.apply(&stored("m2", "two", Action::Notify));
    assert!(model.mark_seen("m1"));
    assert!(!model.mark_seen("m1"), "already seen");
    assert_eq!(model.unread(), 1);
    // Seen messages stay in the menu.
    assert_eq!(model.latest().count(), 2);
    model.mark_all_seen();
    assert_eq!(model.unread(), 0);
    assert_eq!(model.state(now), TrayState::Normal);
    assert_eq!(model.tooltip(now), "Herald — connected");
}

#[test]
fn unread_beyond_the_remembered_ids_is_still_counted() {
    let mut model = TrayModel::default();
    for i in 0..UNREAD_IDS_MAX + 10 {
        model.apply(&stored(&format!("m{i}"), "x", Action::Notify));
    }
    assert_eq!(model.unread(), UNREAD_IDS_MAX + 10);
    assert!(model.mark_seen(&format!("m{}", UNREAD_IDS_MAX + 9)));
    assert_eq!(model.unread(), UNREAD_IDS_MAX + 9);
    model.mark_all_seen();
    assert_eq!(model.unread(), 0);
}

#[test]
fn pausing_for_an_hour_ends_by_itself() {
    let now = Instant::now();
    let mut model = TrayModel::default();
    model.apply(&connected("primary"));
    model.apply(&stored("m1", "one", Action::Notify));
    model.pause(Some(now + PAUSE_HOUR));
    assert_eq!(model.state(now), TrayState::Paused, "paused beats unread");
    assert_eq!(
        model.tooltip(now),
        "Herald — connected, notifications paused for now, 1 unread"
    );
    let menu = model.menu(now);
    assert!(!enabled(&menu, &MenuId::PauseHour));
    assert!(enabled(&menu, &MenuId::PauseUntilResumed));
    assert!(enabled(&menu, &MenuId::Resume));
    assert_eq!(model.next_change(now), Some(now + PAUSE_HOUR));

    let later = now + PAUSE_HOUR;
    assert_eq!(model.state(later), TrayState::Unread);
    assert!(enabled(&model.menu(later), &MenuId::PauseHour));
    assert!(!enabled(&model.menu(later), &MenuId::Resume));
    assert_eq!(model.next_change(later), None);
}

#[test]
fn the_time_left_in_a_pause_is_known() {
    let now = Instant::now();
    let mut model = TrayModel::default();
    assert_eq!(model.pause_left(now), None);
    model.pause(Some(now + PAUSE_HOUR));
    assert_eq!(
        model.pause_left(now + Duration::from_secs(600)),
        Some(Some(Duration::from_secs(3000)))
    );
    assert_eq!(model.pause_left(now + PAUSE_HOUR), None);
    model.pause(None);
    assert_eq!(model.pause_left(now), Some(None));
}

#[test]
fn pausing_until_resumed_lasts_until_resume() {
    let now = Instant::now();
    let mut model = TrayModel::default();
    model.pause(None);
    let far = now + Duration::from_secs(86_400 * 365);
    assert_eq!(model.state(far), TrayState::Paused);
    assert_eq!(model.next_change(now), None);
    let menu = model.menu(now);
    assert!(!enabled(&menu, &MenuId::PauseHour));
    assert!(!enabled(&menu, &MenuId::PauseUntilResumed));
    assert!(enabled(&menu, &MenuId::Resume));
    model.resume();
    assert_eq!(model.state(now), TrayState::Normal);
    assert!(!enabled(&model.menu(now), &MenuId::Resume));
}

#[test]
fn a_lost_connection_is_offline_until_it_is_back() {
    let now = Instant::now();
    let mut model = TrayModel::default();
    model.apply(&connecting("primary"));
    assert_eq!(model.tooltip(now), "Herald — connecting");
    assert_eq!(model.state(now), TrayState::Normal);
    model.apply(&connected("primary"));
    model.pause(None);
    model.apply(&disconnected("primary", "connection reset\nby peer"));
    assert_eq!(model.state(now), TrayState::Offline, "offline beats paused");
    assert_eq!(
        model.tooltip(now),
        "Herald — offline: connection reset by peer, notifications paused"
    );
    // The retry is still offline.
    model.apply(&connecting("primary"));
    assert_eq!(model.state(now), TrayState::Offline);
    model.apply(&connected("primary"));
    assert_eq!(model.state(now), TrayState::Paused);
}

#[test]
fn one_connection_down_of_several_is_named() {
    let now = Instant::now();
    let mut model = TrayModel::default();
    model.apply(&connected("primary"));
    model.apply(&connecting("pulp"));
    assert_eq!(model.tooltip(now), "Herald — connecting");
    model.apply(&disconnected("pulp", "refused"));
    assert_eq!(model.tooltip(now), "Herald — offline (pulp): refused");
}

#[test]
fn a_failing_store_is_an_error_until_a_batch_commits() {
    let now = Instant::now();
    let mut model = TrayModel::default();
    model.apply(&connected("primary"));
    assert!(model.apply(&PipelineEvent::StoreFailed {
        error: "disk full".into()
    }));
    assert_eq!(model.state(now), TrayState::Offline);
    assert_eq!(
        model.tooltip(now),
        "Herald — cannot write the history: disk full"
    );
    assert!(model.apply(&PipelineEvent::Committed(InsertReport::default())));
    assert_eq!(model.state(now), TrayState::Normal);
    assert!(
        !model.apply(&PipelineEvent::Committed(InsertReport::default())),
        "nothing to clear"
    );
}

#[test]
fn a_halted_pipeline_says_why() {
    let now = Instant::now();
    let mut model = TrayModel::default();
    model.halt("cannot load config /x/config.toml: expected `=`");
    assert_eq!(model.state(now), TrayState::Offline);
    assert_eq!(
        model.tooltip(now),
        "Herald — not running: cannot load config /x/config.toml: expected `=`"
    );
    let mut stopped = TrayModel::default();
    stopped.apply(&connected("primary"));
    stopped.apply(&PipelineEvent::Stopped);
    assert_eq!(stopped.tooltip(now), "Herald — not running: stopped");
}

#[test]
fn labels_are_one_bounded_line_of_plain_text() {
    assert_eq!(plain_label("  a\n\tb\u{7}c  ", 60), "a b c");
    assert_eq!(plain_label("", 60), "(no summary)");
    assert_eq!(plain_label("\n\r", 60), "(no summary)");
    assert_eq!(plain_label("<b>bold</b> & _x_", 60), "<b>bold</b> & _x_");
    let long = "word ".repeat(40);
    let cut = plain_label(&long, LABEL_MAX);
    assert_eq!(cut.chars().count(), LABEL_MAX, "{cut}");
    assert!(cut.ends_with("word…"), "{cut}");
    assert_eq!(plain_label("ééééé", 3), "éé…");
}

#[test]
fn labels_carry_no_link_and_no_hidden_character() {
    assert_eq!(
        plain_label("build failed, see smb://evil.com/x", 60),
        "build failed, see smb[:]//evil[.]com/x"
    );
    assert_eq!(plain_label("www.evil.example", 60), "www[.]evil.example");
    assert_eq!(
        plain_label("a\u{2028}b\u{200b}c\u{202e}d\u{61c}", 60),
        "a b\u{FFFD}c\u{FFFD}d\u{FFFD}"
    );
    let hostile = "x\u{2029}Open: evil.com/login \u{200e}\u{feff}";
    let label = plain_label(hostile, 60);
    assert!(
        !label.chars().any(herald_core::clean::is_neutralised),
        "{label:?}"
    );
    assert!(
        herald_core::clean::gnome_links(&label).is_empty(),
        "{label:?}"
    );
}

#[test]
fn message_labels_in_the_menu_are_bounded() {
    let now = Instant::now();
    let mut model = TrayModel::default();
    model.apply(&stored("m1", &"x".repeat(500), Action::Notify));
    let menu = model.menu(now);
    assert!(labels(&menu)[1].chars().count() <= LABEL_MAX);
}

#[test]
fn packages_behind_upstream_get_a_submenu_above_the_fixed_entries() {
    use crate::tray::behind::Behind;
    let now = Instant::now();
    let mut model = TrayModel::default();
    model.apply(&stored("m1", "one", Action::Notify));
    let plain = model.menu(now);
    assert!(
        !plain
            .0
            .iter()
            .any(|e| matches!(e, MenuEntry::Submenu { .. })),
        "nothing behind, no submenu: {plain:?}"
    );

    let list = vec![Behind {
        package: "python-requests".into(),
        upstream: "2.33.0".into(),
        fedora: Some("2.31.0".into()),
        waited: Duration::from_secs(12 * 86_400),
    }];
    assert!(model.set_behind(list.clone()));
    assert!(!model.set_behind(list), "the same list changes nothing");
    let menu = model.menu(now);
    // Status, separator, the message, separator, then the submenu and its separator.
    assert_eq!(
        menu.0[4],
        MenuEntry::Submenu {
            label: "Behind upstream (1)".into(),
            entries: vec![MenuEntry::Item {
                id: MenuId::Package("python-requests".into()),
                label: "python-requests 2.33.0 (Fedora 2.31.0), 12 days".into(),
                enabled: true,
            }],
        }
    );
    assert_eq!(menu.0[5], MenuEntry::Separator);
    assert_eq!(labels(&menu)[3], "Pause 1 h");

    assert!(model.set_behind(Vec::new()));
    assert_eq!(model.menu(now), plain);
}
