//! The chain notices' decisions over package states built the way the model builds them
//! (events applied in order), with the clock passed in.

use super::*;
use crate::packages::{BranchState, Build};
use crate::packages::{Change, Event, Stage, Update, Upstream};

const MIN: i64 = 60_000;
const T0: i64 = 1_800_000_000_000;

fn settings() -> PackageSettings {
    PackageSettings::default()
}

fn rules() -> NoticeRules {
    NoticeRules::new(&settings(), &["jdoe".to_owned()])
}

fn event(stage: Stage, change: Change) -> Event {
    Event {
        package: "python-rich".to_owned(),
        stage,
        branch: Some("f43".to_owned()),
        version: Some("14.1.0".to_owned()),
        nvr: Some("python-rich-14.1.0-1.fc43".to_owned()),
        state: None,
        url: Some("https://bodhi.fedoraproject.org/updates/FEDORA-2026-1a2b3c".to_owned()),
        change,
    }
}

fn update(user: &str, stable: bool) -> Event {
    event(
        Stage::Update,
        Change::Update(Update {
            alias: "FEDORA-2026-1a2b3c".to_owned(),
            status: Some(if stable { "stable" } else { "testing" }.to_owned()),
            request: None,
            user: Some(user.to_owned()),
            karma: None,
            stable,
        }),
    )
}

fn decision(d: Decision) -> Event {
    event(
        Stage::Gating,
        Change::Gating {
            subject: "FEDORA-2026-1a2b3c".to_owned(),
            decision: d,
        },
    )
}

/// jdoe's update, submitted at T0, then Greenwave's decisions at the given minutes.
fn flips(user: &str, decisions: &[(i64, Decision)]) -> PackageState {
    let mut s = PackageState::default();
    s.apply(&update(user, false), T0);
    for (minute, d) in decisions {
        s.apply(&decision(*d), T0 + minute * MIN);
    }
    s
}

fn kinds(n: &[Notice]) -> Vec<NoticeKind> {
    n.iter().map(|n| n.kind).collect()
}

/// Failed → waiting → failed → passed within minutes, as bodhi#4219 shows it.
const FLIP_FLOP: &[(i64, Decision)] = &[
    (1, Decision::Failed),
    (2, Decision::Waiting),
    (4, Decision::Failed),
    (6, Decision::Passed),
];

#[test]
fn flips_within_the_window_raise_nothing_until_the_last_one_holds() {
    let s = flips("jdoe", FLIP_FLOP);
    let r = rules();
    // At every minute of the flip-flop and until the last decision has held 15 minutes:
    // nothing, and the stage is told when to look again.
    for minute in 1..21 {
        let now = T0 + minute * MIN;
        assert!(
            due("python-rich", &s, now, &r).is_empty(),
            "minute {minute}"
        );
    }
    assert_eq!(next_due(&s, T0 + 7 * MIN, &r), Some(T0 + 21 * MIN));
    let n = due("python-rich", &s, T0 + 21 * MIN, &r);
    assert_eq!(kinds(&n), [NoticeKind::Gating]);
    assert_eq!(n[0].decision, Some(Decision::Passed));
    assert_eq!(
        n[0].summary(),
        "python-rich: gating passed (FEDORA-2026-1a2b3c, f43)"
    );
    assert_eq!(
        n[0].url.as_deref(),
        Some("https://bodhi.fedoraproject.org/updates/FEDORA-2026-1a2b3c")
    );
    assert_eq!(n[0].event_at, T0 + 6 * MIN, "the decision that held");
    assert_eq!(next_due(&s, T0 + 21 * MIN, &r), None);
}

#[test]
fn a_settled_decision_is_the_same_notice_at_every_later_look() {
    let s = flips("jdoe", FLIP_FLOP);
    let r = rules();
    let first = due("python-rich", &s, T0 + 21 * MIN, &r);
    let later = due("python-rich", &s, T0 + 90 * MIN, &r);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].key, later[0].key, "one key: raised once");
}

#[test]
fn a_flip_after_settling_that_settles_again_is_a_new_notice() {
    let mut s = flips("jdoe", FLIP_FLOP);
    let r = rules();
    let passed = due("python-rich", &s, T0 + 30 * MIN, &r);
    // A late result fails it an hour later.
    s.apply(&decision(Decision::Failed), T0 + 60 * MIN);
    assert!(
        due("python-rich", &s, T0 + 70 * MIN, &r).is_empty(),
        "not settled yet"
    );
    let failed = due("python-rich", &s, T0 + 75 * MIN, &r);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].decision, Some(Decision::Failed));
    assert_ne!(failed[0].key, passed[0].key);
    // And back to passed: a third notice, not the first one again.
    s.apply(&decision(Decision::Passed), T0 + 80 * MIN);
    let again = due("python-rich", &s, T0 + 95 * MIN, &r);
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].key, passed[0].key);
    assert_ne!(again[0].key, failed[0].key);
}

#[test]
fn waiting_never_settles() {
    let s = flips("jdoe", &[(1, Decision::Waiting)]);
    assert!(due("python-rich", &s, T0 + 600 * MIN, &rules()).is_empty());
    assert_eq!(next_due(&s, T0 + 2 * MIN, &rules()), None);
}

#[test]
fn reaching_stable_is_one_notice_and_ends_gating_notices() {
    let mut s = flips("jdoe", FLIP_FLOP);
    s.apply(&update("jdoe", true), T0 + 100 * MIN);
    let r = rules();
    for now in [T0 + 100 * MIN, T0 + 200 * MIN, T0 + 2000 * MIN] {
        let n = due("python-rich", &s, now, &r);
        assert_eq!(kinds(&n), [NoticeKind::Stable], "at {now}");
        assert_eq!(n[0].key, "FEDORA-2026-1a2b3c");
        assert_eq!(n[0].summary(), "python-rich 14.1.0 reached stable in f43");
    }
}

#[test]
fn other_peoples_updates_are_not_mine() {
    let mut s = flips("someone-else", FLIP_FLOP);
    s.apply(&update("someone-else", true), T0 + 100 * MIN);
    assert!(due("python-rich", &s, T0 + 100 * MIN, &rules()).is_empty());
    assert!(due(
        "python-rich",
        &flips("someone-else", FLIP_FLOP),
        T0 + 30 * MIN,
        &rules()
    )
    .is_empty());
}

/// Fedora at 14.0.0; upstream 14.1.0 announced at T0.
fn behind() -> PackageState {
    PackageState {
        fedora_version: Some("14.0.0".to_owned()),
        upstream: Some(Upstream {
            version: "14.1.0".to_owned(),
            since: T0,
            at: T0,
        }),
        ..PackageState::default()
    }
}

#[test]
fn no_build_after_the_wait_once_per_version() {
    let s = behind();
    let r = rules();
    let day = 24 * 60 * MIN;
    assert!(due("python-rich", &s, T0 + 2 * day, &r).is_empty());
    assert_eq!(next_due(&s, T0 + 2 * day, &r), Some(T0 + 3 * day));
    let n = due("python-rich", &s, T0 + 3 * day, &r);
    assert_eq!(kinds(&n), [NoticeKind::NoBuild]);
    assert_eq!(n[0].key, "14.1.0");
    assert_eq!(
        n[0].summary(),
        "python-rich: upstream 14.1.0 for 3 days, no build"
    );
    assert_eq!(n[0].event_at, T0, "the announcement");
    assert!(n[0].details().contains("Fedora: 14.0.0"));
    // The same version a day later: the same notice (raised once).
    let later = due("python-rich", &s, T0 + 4 * day, &r);
    assert_eq!(later[0].key, "14.1.0");
    // A newer release starts its own wait.
    let mut newer = s.clone();
    newer.upstream = Some(Upstream {
        version: "14.2.0".to_owned(),
        since: T0 + 4 * day,
        at: T0 + 4 * day,
    });
    assert!(due("python-rich", &newer, T0 + 5 * day, &r).is_empty());
    assert_eq!(
        due("python-rich", &newer, T0 + 7 * day, &r)[0].key,
        "14.2.0"
    );
}

#[test]
fn any_build_of_the_new_version_is_a_build_that_followed() {
    let r = rules();
    let day = 24 * 60 * MIN;
    for state in ["building", "failed", "complete"] {
        let mut s = behind();
        s.branches.insert(
            "rawhide".to_owned(),
            BranchState {
                build: Some(Build {
                    nvr: "python-rich-14.1.0-1.fc44".to_owned(),
                    state: state.to_owned(),
                    at: T0 + day,
                    url: None,
                    owner: None,
                }),
                ..BranchState::default()
            },
        );
        assert!(
            due("python-rich", &s, T0 + 4 * day, &r).is_empty(),
            "{state}"
        );
        assert_eq!(next_due(&s, T0 + day, &r), None, "{state}");
    }
    // A rebuild of the old version is not one.
    let mut s = behind();
    s.branches.insert(
        "f43".to_owned(),
        BranchState {
            build: Some(Build {
                nvr: "python-rich-14.0.0-2.fc43".to_owned(),
                state: "complete".to_owned(),
                at: T0 + day,
                url: None,
                owner: None,
            }),
            ..BranchState::default()
        },
    );
    assert_eq!(due("python-rich", &s, T0 + 4 * day, &r).len(), 1);
}

#[test]
fn unknown_fedora_version_or_not_behind_is_no_notice() {
    let r = rules();
    let day = 24 * 60 * MIN;
    let mut unknown = behind();
    unknown.fedora_version = None;
    assert!(due("python-rich", &unknown, T0 + 4 * day, &r).is_empty());
    let mut current = behind();
    current.fedora_version = Some("14.1.0".to_owned());
    assert!(due("python-rich", &current, T0 + 4 * day, &r).is_empty());
}

#[test]
fn nothing_older_than_the_lookback_is_told() {
    let r = rules();
    let day = 24 * 60 * MIN;
    // A first start ten days after all this happened.
    let mut s = flips("jdoe", FLIP_FLOP);
    assert!(
        due("python-rich", &s, T0 + 10 * day, &r).is_empty(),
        "old gating"
    );
    s.apply(&update("jdoe", true), T0 + 100 * MIN);
    assert!(
        due("python-rich", &s, T0 + 10 * day, &r).is_empty(),
        "old stable"
    );
    // Released ten days ago: it became "no build" seven days ago.
    assert!(
        due("python-rich", &behind(), T0 + 10 * day, &r).is_empty(),
        "old no build"
    );
    // Within the lookback (3 days 15 minutes) they are still told: a weekend off.
    assert_eq!(due("python-rich", &s, T0 + 2 * day, &r).len(), 1);
    assert_eq!(due("python-rich", &behind(), T0 + 6 * day, &r).len(), 1);
}

#[test]
fn toggles_off_raise_nothing() {
    let day = 24 * 60 * MIN;
    let mut off = settings();
    off.notify_gating = false;
    off.notify_stable = false;
    off.notify_no_build = false;
    let r = NoticeRules::new(&off, &["jdoe".to_owned()]);
    assert!(!r.any());
    let mut s = flips("jdoe", FLIP_FLOP);
    assert!(due("python-rich", &s, T0 + 30 * MIN, &r).is_empty());
    assert_eq!(next_due(&s, T0 + 7 * MIN, &r), None);
    s.apply(&update("jdoe", true), T0 + 100 * MIN);
    assert!(due("python-rich", &s, T0 + 100 * MIN, &r).is_empty());
    assert!(due("python-rich", &behind(), T0 + 3 * day, &r).is_empty());
    assert_eq!(next_due(&behind(), T0, &r), None);
    // Each toggle alone.
    let mut only_stable = settings();
    only_stable.notify_gating = false;
    only_stable.notify_no_build = false;
    let r = NoticeRules::new(&only_stable, &["jdoe".to_owned()]);
    assert_eq!(
        kinds(&due("python-rich", &s, T0 + 100 * MIN, &r)),
        [NoticeKind::Stable]
    );
    assert!(due("python-rich", &flips("jdoe", FLIP_FLOP), T0 + 30 * MIN, &r).is_empty());
}

#[test]
fn no_users_means_no_update_is_mine_but_watched_packages_still_count() {
    let r = NoticeRules::new(&settings(), &[]);
    assert!(r.any());
    assert!(due("python-rich", &flips("jdoe", FLIP_FLOP), T0 + 30 * MIN, &r).is_empty());
    assert_eq!(
        due("python-rich", &behind(), T0 + 3 * 24 * 60 * MIN, &r).len(),
        1
    );
}

#[test]
fn the_settings_in_force_are_listed_as_chain_rules() {
    let mut profile = Profile::default();
    let listed = chain_rules(&settings(), &profile);
    let ids: Vec<&str> = listed.iter().map(|r| r.id).collect();
    assert_eq!(ids, ["chain-gating", "chain-stable", "chain-no-build"]);
    assert!(
        listed.iter().all(|r| r.enabled && r.note.is_some()),
        "{listed:?}"
    );
    assert!(listed[0].description.contains("15m"));
    assert!(listed[2].description.contains("3d"));
    profile.users = vec!["jdoe".to_owned()];
    let mut s = settings();
    s.notify_stable = false;
    let listed = chain_rules(&s, &profile);
    assert!(listed.iter().all(|r| r.note.is_none()), "{listed:?}");
    assert_eq!(
        listed.iter().map(|r| r.enabled).collect::<Vec<_>>(),
        [true, false, true]
    );
}

#[test]
fn spans_read_as_people_say_them() {
    assert_eq!(span(3 * 24 * 60 * MIN + 5 * MIN), "3 days");
    assert_eq!(span(24 * 60 * MIN), "1 day");
    assert_eq!(span(13 * 60 * MIN), "13 hours");
    assert_eq!(span(MIN), "1 minute");
    assert_eq!(span(-5), "0 minutes");
}
