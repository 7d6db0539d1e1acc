//! RPM's version order against rpm's own table, NVR and branch naming, and how events
//! change a package's state: out of order, flip-flopping gating, Rawhide's way to stable.

use super::evr::*;
use super::extract::{Change, Decision, Event, Update};
use super::model::PackageState;
use super::Stage;
use std::cmp::Ordering;

/// rpm's `tests/rpmvercmp.at` (rpm-software-management/rpm at a8f0192a): `a`, `b`, and
/// what `rpm.vercmp(a, b)` returns.
const RPMVERCMP_AT: &str = "1.0, 1.0, 0;1.0, 2.0, -1;2.0, 1.0, 1;2.0.1, 2.0.1, 0;2.0, 2.0.1, -1;\
2.0.1, 2.0, 1;2.0.1a, 2.0.1a, 0;2.0.1a, 2.0.1, 1;2.0.1, 2.0.1a, -1;5.5p1, 5.5p1, 0;5.5p1, 5.5p2, -1;\
5.5p2, 5.5p1, 1;5.5p10, 5.5p10, 0;5.5p1, 5.5p10, -1;5.5p10, 5.5p1, 1;10xyz, 10.1xyz, -1;\
10.1xyz, 10xyz, 1;xyz10, xyz10, 0;xyz10, xyz10.1, -1;xyz10.1, xyz10, 1;xyz.4, xyz.4, 0;xyz.4, 8, -1;\
8, xyz.4, 1;xyz.4, 2, -1;2, xyz.4, 1;5.5p2, 5.6p1, -1;5.6p1, 5.5p2, 1;5.6p1, 6.5p1, -1;\
6.5p1, 5.6p1, 1;6.0.rc1, 6.0, 1;6.0, 6.0.rc1, -1;10b2, 10a1, 1;10a2, 10b2, -1;1.0aa, 1.0aa, 0;\
1.0a, 1.0aa, -1;1.0aa, 1.0a, 1;10.0001, 10.0001, 0;10.0001, 10.1, 0;10.1, 10.0001, 0;\
10.0001, 10.0039, -1;10.0039, 10.0001, 1;4.999.9, 5.0, -1;5.0, 4.999.9, 1;20101121, 20101121, 0;\
20101121, 20101122, -1;20101122, 20101121, 1;2_0, 2_0, 0;2.0, 2_0, 0;2_0, 2.0, 0;a, a, 0;a+, a+, 0;\
a+, a_, 0;a_, a+, 0;+a, +a, 0;+a, _a, 0;_a, +a, 0;+_, +_, 0;_+, +_, 0;_+, _+, 0;+, _, 0;_, +, 0;\
1.0~rc1, 1.0~rc1, 0;1.0~rc1, 1.0, -1;1.0, 1.0~rc1, 1;1.0~rc1, 1.0~rc2, -1;1.0~rc2, 1.0~rc1, 1;\
1.0~rc1~git123, 1.0~rc1~git123, 0;1.0~rc1~git123, 1.0~rc1, -1;1.0~rc1, 1.0~rc1~git123, 1;\
1.0^, 1.0^, 0;1.0^, 1.0, 1;1.0, 1.0^, -1;1.0^git1, 1.0^git1, 0;1.0^git1, 1.0, 1;1.0, 1.0^git1, -1;\
1.0^git1, 1.0^git2, -1;1.0^git2, 1.0^git1, 1;1.0^git1, 1.01, -1;1.01, 1.0^git1, 1;\
1.0^20160101, 1.0^20160101, 0;1.0^20160101, 1.0.1, -1;1.0.1, 1.0^20160101, 1;\
1.0^20160101^git1, 1.0^20160101^git1, 0;1.0^20160102, 1.0^20160101^git1, 1;\
1.0^20160101^git1, 1.0^20160102, -1;1.0~rc1^git1, 1.0~rc1^git1, 0;1.0~rc1^git1, 1.0~rc1, 1;\
1.0~rc1, 1.0~rc1^git1, -1;1.0^git1~pre, 1.0^git1~pre, 0;1.0^git1, 1.0^git1~pre, 1;\
1.0^git1~pre, 1.0^git1, -1;1b.fc17, 1b.fc17, 0;1b.fc17, 1.fc17, -1;1.fc17, 1b.fc17, 1;\
1g.fc17, 1g.fc17, 0;1g.fc17, 1.fc17, 1;1.fc17, 1g.fc17, -1;1.1.α, 1.1.α, 0;1.1.α, 1.1.β, 0;\
1.1.β, 1.1.α, 0;1.1.αα, 1.1.α, 0;1.1.α, 1.1.ββ, 0;1.1.ββ, 1.1.αα, 0";

#[test]
fn version_order_is_rpms_own_table() {
    let mut checked = 0;
    let mut wrong = Vec::new();
    for case in RPMVERCMP_AT.split(';') {
        let parts: Vec<&str> = case.split(", ").collect();
        let [a, b, want] = parts[..] else {
            panic!("bad case {case:?}");
        };
        let want = match want {
            "-1" => Ordering::Less,
            "0" => Ordering::Equal,
            _ => Ordering::Greater,
        };
        checked += 1;
        if compare_versions(a, b) != want {
            wrong.push(format!("{a} vs {b}: want {want:?}"));
        }
    }
    assert_eq!(checked, 103, "the whole table is read");
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn epochs_and_releases_order_whole_evrs() {
    assert_eq!(compare_evr("1:1.0-1", "2.0-1"), Ordering::Greater);
    assert_eq!(compare_evr("0:1.0-1", "1.0-1"), Ordering::Equal);
    assert_eq!(compare_evr("1.0-2.fc43", "1.0-10.fc43"), Ordering::Less);
    assert_eq!(compare_evr("2.33.0~rc1-1", "2.33.0-1"), Ordering::Less);
}

#[test]
fn nvrs_split_from_the_right() {
    let n = Nvr::parse("python-rich-14.1.0-1.fc43").expect("nvr");
    assert_eq!(
        (n.name, n.version, n.release),
        ("python-rich", "14.1.0", "1.fc43")
    );
    let e = Nvr::parse("perl-Foo-Bar-1:2.0-3.el9").expect("nvr");
    assert_eq!((e.name, e.version), ("perl-Foo-Bar", "2.0"));
    assert_eq!(Nvr::parse("nodash"), None);
    assert_eq!(Nvr::parse("-1.0-1"), None);
    assert_eq!(Nvr::parse("a--1"), None);
}

#[test]
fn branches_from_dist_tags_targets_tags_and_releases() {
    assert_eq!(dist_branch("1.fc43", None).as_deref(), Some("f43"));
    assert_eq!(dist_branch("1.fc44", Some(44)).as_deref(), Some("rawhide"));
    assert_eq!(dist_branch("3.el9_2", None).as_deref(), Some("epel9"));
    assert_eq!(dist_branch("1", None), None);
    assert_eq!(
        tag_branch("f43-updates-candidate", Some(44)).as_deref(),
        Some("f43")
    );
    assert_eq!(
        tag_branch("f44-updates-candidate", Some(44)).as_deref(),
        Some("rawhide")
    );
    assert_eq!(tag_branch("rawhide", None).as_deref(), Some("rawhide"));
    assert_eq!(tag_branch("epel9-testing", None).as_deref(), Some("epel9"));
    assert_eq!(tag_branch("module-foo", None), None);
    assert!(is_stable_tag("f44"));
    assert!(is_stable_tag("f43-updates"));
    assert!(!is_stable_tag("f43-updates-testing"));
    assert!(!is_stable_tag("f43-updates-candidate"));
    assert_eq!(release_branch("F43", None).as_deref(), Some("f43"));
    assert_eq!(
        release_branch("fedora-44", Some(44)).as_deref(),
        Some("rawhide")
    );
    assert_eq!(release_branch("EPEL-9", None).as_deref(), Some("epel9"));
    let mut b = vec!["epel9", "f42", "rawhide", "f43", "eln"];
    b.sort_by(|x, y| branch_order(x, y));
    assert_eq!(b, ["rawhide", "f43", "f42", "epel9", "eln"]);
}

fn event(stage: Stage, branch: &str, change: Change) -> Event {
    Event {
        package: "python-rich".into(),
        stage,
        branch: Some(branch.into()),
        version: None,
        nvr: None,
        state: None,
        url: None,
        change,
    }
}

fn upstream(version: &str) -> Event {
    Event {
        version: Some(version.into()),
        branch: None,
        ..event(Stage::Upstream, "", Change::Upstream)
    }
}

fn build(nvr: &str, state: &str) -> Event {
    let n = Nvr::parse(nvr).expect("nvr");
    Event {
        version: Some(n.version.into()),
        nvr: Some(nvr.into()),
        state: Some(state.into()),
        ..event(
            Stage::Build,
            "f43",
            Change::Build {
                owner: Some("alice".into()),
            },
        )
    }
}

fn update(alias: &str, status: &str, stable: bool) -> Event {
    Event {
        nvr: Some("python-rich-14.1.0-1.fc43".into()),
        version: Some("14.1.0".into()),
        ..event(
            Stage::Update,
            "f43",
            Change::Update(Update {
                alias: alias.into(),
                status: Some(status.into()),
                request: None,
                user: Some("alice".into()),
                karma: Some(0),
                stable,
            }),
        )
    }
}

fn gating(decision: Decision) -> Event {
    event(
        Stage::Gating,
        "f43",
        Change::Gating {
            subject: "FEDORA-2026-1".into(),
            decision,
        },
    )
}

#[test]
fn behind_upstream_until_a_build_catches_up() {
    let mut s = PackageState::default();
    assert_eq!(s.behind_upstream(), None);
    s.apply(&build("python-rich-14.0.0-1.fc43", "complete"), 100);
    s.apply(&upstream("14.1.0"), 200);
    assert_eq!(s.behind_upstream(), Some(true));
    assert_eq!(s.upstream.as_ref().map(|u| u.since), Some(200));
    // The same release announced again later does not reset how long it has waited.
    s.apply(&upstream("14.1.0"), 300);
    assert_eq!(s.upstream.as_ref().map(|u| u.since), Some(200));
    // An older release announced late changes nothing.
    s.apply(&upstream("14.0.1"), 400);
    assert_eq!(
        s.upstream.as_ref().map(|u| u.version.as_str()),
        Some("14.1.0")
    );
    let owner = s.apply(&build("python-rich-14.1.0-1.fc43", "building"), 500);
    assert_eq!(owner.as_deref(), Some("alice"));
    assert_eq!(
        s.behind_upstream(),
        Some(true),
        "a build in progress is not a version"
    );
    s.apply(&build("python-rich-14.1.0-1.fc43", "complete"), 600);
    assert_eq!(s.behind_upstream(), Some(false));
    // A pre-release is older than its release in RPM order.
    s.apply(&upstream("14.2.0~rc1"), 700);
    s.apply(&upstream("14.2.0"), 800);
    assert_eq!(
        s.upstream.as_ref().map(|u| u.version.as_str()),
        Some("14.2.0")
    );
}

#[test]
fn an_older_event_does_not_undo_a_newer_one() {
    let mut s = PackageState::default();
    s.apply(&build("python-rich-14.1.0-1.fc43", "complete"), 600);
    s.apply(&build("python-rich-14.1.0-1.fc43", "building"), 500);
    let b = s.branches["f43"].build.as_ref().expect("build");
    assert_eq!((b.state.as_str(), b.at), ("complete", 600));
    s.apply(&update("FEDORA-2026-1", "stable", true), 900);
    s.apply(&update("FEDORA-2026-1", "testing", false), 800);
    let u = s.branches["f43"].update.as_ref().expect("update");
    assert_eq!(u.status.as_deref(), Some("stable"));
    assert_eq!(u.stable_at, Some(900));
}

#[test]
fn gating_settles_only_after_holding() {
    let mut s = PackageState::default();
    s.apply(&update("FEDORA-2026-1", "testing", false), 100);
    s.apply(&gating(Decision::Failed), 1_000);
    s.apply(&gating(Decision::Waiting), 2_000);
    s.apply(&gating(Decision::Failed), 3_000);
    s.apply(&gating(Decision::Passed), 4_000);
    let g = s.branches["f43"]
        .update
        .as_ref()
        .and_then(|u| u.gating.clone());
    let g = g.expect("gating");
    assert_eq!(
        (g.decision, g.since, g.at),
        (Decision::Passed, 4_000, 4_000)
    );
    assert!(!g.settled(4_500, 1_000));
    assert!(g.settled(5_000, 1_000));
    // The same decision again keeps when it began; a late, older flip is ignored.
    s.apply(&gating(Decision::Passed), 6_000);
    s.apply(&gating(Decision::Failed), 3_500);
    let g = s.branches["f43"]
        .update
        .as_ref()
        .and_then(|u| u.gating.clone());
    let g = g.expect("gating");
    assert_eq!(
        (g.decision, g.since, g.at),
        (Decision::Passed, 4_000, 6_000)
    );
    let waiting = super::model::Gating {
        decision: Decision::Waiting,
        since: 0,
        at: 0,
    };
    assert!(!waiting.settled(i64::MAX, 1), "waiting never settles");
}

#[test]
fn a_stable_tag_makes_rawhide_updates_stable() {
    let mut s = PackageState::default();
    let mut u = update("FEDORA-2026-2", "testing", false);
    u.branch = Some("rawhide".into());
    u.nvr = Some("python-rich-14.1.0-1.fc44".into());
    s.apply(&u, 100);
    let tag = |t: &str| Event {
        nvr: Some("python-rich-14.1.0-1.fc44".into()),
        version: Some("14.1.0".into()),
        ..event(
            Stage::Tag,
            "rawhide",
            Change::Tag {
                tag: t.into(),
                added: true,
            },
        )
    };
    s.apply(&tag("f44-updates-candidate"), 200);
    assert_eq!(
        s.branches["rawhide"]
            .update
            .as_ref()
            .and_then(|u| u.status.clone())
            .as_deref(),
        Some("testing")
    );
    s.apply(&tag("f44"), 300);
    let b = &s.branches["rawhide"];
    let u = b.update.as_ref().expect("update");
    assert_eq!(
        (u.status.as_deref(), u.stable_at),
        (Some("stable"), Some(300))
    );
    assert_eq!(
        b.stable.as_ref().map(|x| x.nvr.as_str()),
        Some("python-rich-14.1.0-1.fc44")
    );
    assert_eq!(s.fedora_version.as_deref(), Some("14.1.0"));
}

#[test]
fn a_new_update_replaces_the_old_one_only_when_newer() {
    let mut s = PackageState::default();
    s.apply(&update("FEDORA-2026-2", "testing", false), 500);
    s.apply(&update("FEDORA-2026-1", "stable", true), 400);
    let u = s.branches["f43"].update.as_ref().expect("update");
    assert_eq!(u.alias, "FEDORA-2026-2");
    s.apply(&update("FEDORA-2026-3", "pending", false), 600);
    let u = s.branches["f43"].update.as_ref().expect("update");
    assert_eq!(
        (u.alias.as_str(), u.gating.is_none()),
        ("FEDORA-2026-3", true)
    );
}

#[test]
fn koschei_says_ftbfs_per_collection() {
    let mut s = PackageState::default();
    assert_eq!(s.ftbfs(), None);
    let k = |failing| event(Stage::Ftbfs, "rawhide", Change::Ftbfs { failing });
    s.apply(&k(true), 100);
    s.apply(&k(false), 50);
    assert_eq!(s.ftbfs(), Some(true));
    s.apply(&k(false), 200);
    assert_eq!(s.ftbfs(), Some(false));
}

#[test]
fn made_up_branches_are_bounded() {
    let mut s = PackageState::default();
    for i in 0..100 {
        s.apply(&event(Stage::Ci, &format!("x{i}"), Change::Ci), i);
    }
    assert_eq!(s.branches.len(), 32);
}

mod properties {
    //! Whatever a chain topic's body holds, extraction returns bounded, one-line fields and
    //! applying them never panics.

    use super::super::extract::extract;
    use super::super::model::PackageState;
    use crate::message::{headers_from_json, Envelope, Message, Properties};
    use crate::record::Stored;
    use crate::sources::RenderContext;
    use proptest::prelude::*;
    use serde_json::{json, Map, Value};
    use time::OffsetDateTime;

    const TOPICS: &[&str] = &[
        "org.release-monitoring.prod.anitya.project.version.update.v2",
        "org.fedoraproject.prod.hotness.update.bug.file",
        "org.fedoraproject.prod.hotness.update.drop",
        "org.fedoraproject.prod.bugzilla.bug.update",
        "org.fedoraproject.prod.git.receive",
        "org.fedoraproject.prod.buildsys.build.state.change",
        "org.fedoraproject.prod.buildsys.tag",
        "org.fedoraproject.prod.bodhi.update.request.testing",
        "org.fedoraproject.prod.bodhi.update.complete.stable",
        "org.fedoraproject.prod.bodhi.update.comment",
        "org.centos.prod.ci.koji-build.test.complete",
        "org.fedoraproject.prod.resultsdb.result.new",
        "org.fedoraproject.prod.greenwave.decision.update",
        "org.fedoraproject.prod.waiverdb.waiver.new",
        "org.fedoraproject.prod.koschei.package.state.change",
        "org.fedoraproject.prod.copr.build.end",
    ];

    const KEYS: &[&str] = &[
        "name",
        "version",
        "release",
        "new",
        "owner",
        "request",
        "tag",
        "update",
        "alias",
        "status",
        "release",
        "branch",
        "dist_tag",
        "builds",
        "nvr",
        "user",
        "karma",
        "comment",
        "subject_identifier",
        "subject",
        "item",
        "type",
        "product_version",
        "policies_satisfied",
        "summary",
        "artifact",
        "component",
        "test",
        "result",
        "data",
        "outcome",
        "testcase",
        "collection",
        "pkg",
        "chroot",
        "message",
        "stable_versions",
        "upstream_versions",
        "project",
        "packages",
        "distro",
        "package_name",
        "trigger",
        "msg",
        "bug",
        "bug_id",
        "reason",
        "commit",
        "repo",
        "rev",
        "namespace",
    ];

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z0-9.~^_-]{0,12}".prop_map(Value::String),
            "python-rich-1[.]0-1[.]fc4[34]".prop_map(Value::String),
            "\\PC{0,300}".prop_map(Value::String),
            Just(json!("\u{202e}evil\nLine: x\u{7}")),
        ]
    }

    fn body() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|kv| {
                    let m: Map<String, Value> =
                        kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                    Value::Object(m)
                }),
            ]
        })
    }

    fn stored(topic: &str, body: &Value) -> Stored {
        let headers = json!({"fedora_messaging_schema": "x.v1", "fedora_messaging_severity": 20,
                             "fedora_messaging_rpm_python-rich": true});
        let env = Envelope {
            exchange: "amq.topic".into(),
            routing_key: topic.into(),
            properties: Properties::default(),
            headers: headers.as_object().map(headers_from_json),
            body: serde_json::to_vec(body).unwrap_or_default(),
            received_at: OffsetDateTime::UNIX_EPOCH,
        };
        Stored::new(Message::decode(env), &RenderContext::default())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn extraction_is_total_and_bounded(
            topic in prop::sample::select(TOPICS),
            body in body(),
            rawhide in proptest::option::of(40u32..46),
        ) {
            let body = match body {
                Value::Object(_) => body,
                other => json!({"update": other}),
            };
            let s = stored(topic, &body);
            let x = extract(&s, rawhide);
            prop_assert!(x.events.len() <= 50);
            let mut state = PackageState::default();
            for e in &x.events {
                for f in [&e.branch, &e.version, &e.nvr, &e.state].into_iter().flatten() {
                    prop_assert!(f.len() <= 203, "{f:?}");
                    prop_assert!(!f.chars().any(|c| c.is_control() || crate::clean::is_bidi_control(c)), "{f:?}");
                }
                state.apply(e, 1);
            }
            prop_assert!(state.branches.len() <= 32);
            prop_assert!(serde_json::to_string(&state).is_ok());
        }
    }
}
