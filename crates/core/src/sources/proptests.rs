//! Property tests: whatever JSON object arrives under whichever known topic, exchange and
//! header set, rendering returns, and what it returns keeps the shared promises (bounded
//! summary without bidi controls, only safe links).

use super::tests::message;
use super::*;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Every envelope shape a producer module recognises.
const ENVELOPES: &[(&str, &str, &str)] = &[
    (
        "org.release-monitoring.prod.anitya.project.version.update.v2",
        "amq.topic",
        "anitya.project.version.update.v2",
    ),
    (
        "org.release-monitoring.prod.anitya.project.map.update",
        "amq.topic",
        "anitya.project.map.update",
    ),
    (
        "org.release-monitoring.prod.anitya.distro.edit",
        "amq.topic",
        "anitya.distro.edit",
    ),
    (
        "org.release-monitoring.prod.anitya.project.version.remove.v2",
        "amq.topic",
        "anitya.project.version.remove.v2",
    ),
    (
        "org.fedoraproject.prod.buildsys.build.state.change",
        "amq.topic",
        "koji_fedoramessaging.build.BuildStateChangeV1",
    ),
    (
        "org.fedoraproject.prod.buildsys.task.state.change",
        "amq.topic",
        "koji_fedoramessaging.task.TaskStateChangeV1",
    ),
    (
        "org.fedoraproject.prod.buildsys.tag",
        "amq.topic",
        "koji_fedoramessaging.tag.TagV1",
    ),
    (
        "org.fedoraproject.prod.buildsys.package.list.change",
        "amq.topic",
        "koji_fedoramessaging.package.ListChangeV1",
    ),
    (
        "org.fedoraproject.prod.buildsys.repo.done",
        "amq.topic",
        "koji_fedoramessaging.repo.DoneV1",
    ),
    (
        "org.fedoraproject.prod.buildsys.rpm.sign",
        "amq.topic",
        "koji_fedoramessaging.rpm.SignV1",
    ),
    (
        "org.fedoraproject.prod.bodhi.update.comment",
        "amq.topic",
        "bodhi.update.comment.v1",
    ),
    (
        "org.fedoraproject.prod.bodhi.update.request.testing",
        "amq.topic",
        "bodhi.update.request.testing.v1",
    ),
    (
        "org.fedoraproject.prod.bodhi.update.eject",
        "amq.topic",
        "bodhi.update.eject.v1",
    ),
    (
        "org.fedoraproject.prod.bodhi.compose.complete",
        "amq.topic",
        "bodhi.compose.complete.v1",
    ),
    (
        "org.fedoraproject.prod.bodhi.errata.publish",
        "amq.topic",
        "bodhi.errata.publish.v1",
    ),
    (
        "org.fedoraproject.prod.bodhi.buildroot_override.tag",
        "amq.topic",
        "bodhi.buildroot_override.tag.v1",
    ),
    (
        "org.fedoraproject.prod.copr.build.end",
        "amq.topic",
        "copr.build.end",
    ),
    (
        "org.fedoraproject.prod.copr.chroot.start",
        "amq.topic",
        "copr.chroot.start",
    ),
    ("koji.event.BuildStateChange.state.x", "koji.events", ""),
    ("koji.event.TaskStateChange.build.state", "koji.events", ""),
    ("koji.event.Tag.t.p.u", "koji.events", ""),
    ("koji.event.PackageListChange.t.p", "koji.events", ""),
    ("koji.event.RepoDone.t", "koji.events", ""),
    ("koji.event.RepoInit.t", "koji.events", ""),
    ("koji.event.Import.rpm", "koji.events", ""),
    ("koji.event.RPMSign.x", "koji.events", ""),
    (
        "VirtualTopic.eng.brew.build.complete",
        "amq.topic",
        "BuildStateChange",
    ),
    (
        "VirtualTopic.eng.brew.task.failed",
        "amq.topic",
        "TaskStateChange",
    ),
    (
        "VirtualTopic.eng.brew.build.promote",
        "amq.topic",
        "BuildPromote",
    ),
    ("VirtualTopic.eng.brew.sign.rpm", "amq.topic", "RPMSign"),
    (
        "tasks.67c30b77-7eff-4be1-9355-44dd633bf71b",
        "pulp.api.v2",
        "",
    ),
    ("pulp.server.repo.sync.finish", "amq.topic", ""),
    ("pulp.server.repo.publish.start", "amq.topic", ""),
    (
        "org.fedoraproject.prod.hotness.update.bug.file",
        "amq.topic",
        "hotness.update.bug.file",
    ),
    (
        "org.fedoraproject.prod.hotness.update.drop",
        "amq.topic",
        "hotness.update.drop",
    ),
    (
        "org.fedoraproject.prod.bugzilla.bug.update",
        "amq.topic",
        "bugzilla2fedmsg.messageV1bz4",
    ),
    (
        "org.fedoraproject.prod.git.receive",
        "amq.topic",
        "fedora_messaging_git_hook.commit.v1",
    ),
    (
        "org.centos.prod.ci.koji-build.test.complete",
        "amq.topic",
        "ci_messages.CIMessageV1",
    ),
    (
        "org.fedoraproject.prod.ci.fedora-update.test.error",
        "amq.topic",
        "ci_messages.CIMessageV1",
    ),
    (
        "org.fedoraproject.prod.resultsdb.result.new",
        "amq.topic",
        "base.message",
    ),
    (
        "org.fedoraproject.prod.greenwave.decision.update",
        "amq.topic",
        "base.message",
    ),
    (
        "org.fedoraproject.prod.waiverdb.waiver.new",
        "amq.topic",
        "base.message",
    ),
    (
        "org.fedoraproject.prod.koschei.package.state.change",
        "amq.topic",
        "koschei.package.state.change",
    ),
    (
        "org.fedoraproject.prod.koschei.collection.state.change",
        "amq.topic",
        "koschei.collection.state.change",
    ),
    (
        "org.fedoraproject.prod.mystery.thing",
        "amq.topic",
        "mystery.thing.v1",
    ),
];

/// Keys the renderers look for, so that generated bodies reach past the first lookup.
const KEYS: &[&str] = &[
    "name",
    "version",
    "release",
    "owner",
    "owner_name",
    "new",
    "old",
    "build_id",
    "id",
    "task_id",
    "tag",
    "tag_id",
    "user",
    "package",
    "action",
    "info",
    "build",
    "rpm",
    "repo",
    "task",
    "children",
    "result",
    "logs",
    "url",
    "base_url",
    "files_base_url",
    "instance",
    "project",
    "message",
    "distro",
    "packages",
    "package_name",
    "upstream_versions",
    "versions",
    "agent",
    "update",
    "builds",
    "nvr",
    "alias",
    "comment",
    "text",
    "karma",
    "override",
    "submitter",
    "copr",
    "chroot",
    "status",
    "msg",
    "state",
    "tags",
    "error",
    "progress_report",
    "payload",
    "call_report",
    "event_type",
    "summary",
    "type",
    "sigkey",
    "repo_id",
    "success",
    "changes",
    "flag",
    "srpm",
    "method",
    "arch",
    "trigger",
    "bug",
    "bug_id",
    "reason",
    "agent_name",
    "event",
    "target",
    "usernames",
    "component",
    "commit",
    "branch",
    "namespace",
    "artifact",
    "run",
    "test",
    "descriptor",
    "testcase",
    "outcome",
    "data",
    "item",
    "ref_url",
    "subject",
    "subject_type",
    "subject_identifier",
    "policies_satisfied",
    "decision_context",
    "product_version",
    "username",
    "waived",
    "collection",
    "collection_name",
    "koji_instance",
    "groups",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (0i64..10).prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        prop::sample::select(vec![
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https://example.org/x",
            "\u{202e}x",
            "<b>x</b>",
            "Fedora",
            "pulp:action:sync",
            "pulp:repository:r",
            "repo.sync.finish",
            "../..",
            "",
            "@python",
            "github.com:x",
            "rpms",
            "koji_build",
            "bodhi_update",
            "ok",
            "failing",
            "create",
            "anitya",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

fn body() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((prop::sample::select(KEYS), value()), 0..12)
        .prop_map(|kv| kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn headers(marker: &str, severity: Value) -> Value {
    if marker.is_empty() {
        json!({})
    } else if marker.contains('.') {
        json!({"fedora_messaging_schema": marker, "fedora_messaging_severity": severity,
               "fedora_messaging_user_someone": true})
    } else {
        json!({"type": marker, "id": "x", "new": severity, "name": "n"})
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn render_never_panics(
        envelope in prop::sample::select(ENVELOPES),
        body in body(),
        severity in leaf(),
        with_bases in any::<bool>(),
    ) {
        let (topic, exchange, marker) = envelope;
        let bytes = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
        let msg = message(topic, exchange, headers(marker, severity), &bytes);
        let ctx = if with_bases {
            RenderContext {
                koji_web_base: Some("https://koji.example.org/koji".to_owned()),
                pulp_base: Some("https://pulp.example.org".to_owned()),
                ..Default::default()
            }
        } else {
            RenderContext::default()
        };
        let r = render(&msg, &ctx);
        prop_assert!(r.summary.chars().count() <= text::SUMMARY_MAX_CHARS + 1);
        prop_assert!(!r.summary.chars().any(crate::clean::is_neutralised));
        prop_assert!(!r.kind.chars().any(crate::clean::is_neutralised));
        prop_assert!(!r.summary.contains('\n'));
        prop_assert!(matches!(r.severity, 10 | 20 | 30 | 40));
        if let Some(url) = &r.url {
            prop_assert!(
                url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/'),
                "unsafe link {url}"
            );
        }
    }
}
