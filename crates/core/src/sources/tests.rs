//! Cases the fixture corpus does not cover: recognition edges, hostile values and the
//! generic fallback. The corpus itself is checked by the conformance test in `tests/`.

use super::*;
use crate::message::{headers_from_json, Envelope, Properties};
use serde_json::{json, Value};
use time::OffsetDateTime;

pub(crate) fn message(topic: &str, exchange: &str, headers: Value, body: &[u8]) -> Message {
    Message::decode(Envelope {
        exchange: exchange.to_owned(),
        routing_key: topic.to_owned(),
        properties: Properties::default(),
        headers: headers.as_object().map(headers_from_json),
        body: body.to_vec(),
        received_at: OffsetDateTime::UNIX_EPOCH,
    })
}

fn json_message(topic: &str, exchange: &str, headers: Value, body: Value) -> Message {
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    message(topic, exchange, headers, &bytes)
}

fn brew() -> RenderContext {
    RenderContext {
        koji_web_base: Some("https://brewweb.example.com/brew".to_owned()),
        pulp_base: None,
        ..Default::default()
    }
}

#[test]
fn generic_summary_reads_the_topic() {
    let msg = json_message(
        "org.fedoraproject.prod.pagure.git.receive",
        "amq.topic",
        json!({"fedora_messaging_schema": "pagure.git.receive", "fedora_messaging_severity": 20,
               "fedora_messaging_user_alice": true, "fedora_messaging_rpm_foo": true}),
        json!({"agent": "alice", "commit": {"repo": "foo"}}),
    );
    let r = render(&msg, &RenderContext::default());
    assert_eq!(r.source, "unknown");
    assert_eq!(r.kind, "pagure.git.receive");
    assert!(
        r.summary.starts_with("pagure git receive by alice: foo"),
        "{}",
        r.summary
    );
    assert!(r
        .summary
        .contains("org.fedoraproject.prod.pagure.git.receive"));
    assert_eq!(r.users, ["alice"]);
    assert_eq!(r.packages, ["foo"]);
    assert_eq!(r.agent.as_deref(), Some("alice"));
    assert_eq!(r.icon, "generic");
    assert_eq!(r.url, None);
}

#[test]
fn generic_handles_headers_exchange_without_topic() {
    let msg = message("", "some.headers", json!({"type": "Thing"}), b"not json");
    let r = render(&msg, &RenderContext::default());
    assert_eq!(r.source, "unknown");
    assert_eq!(r.kind, "Thing");
    assert!(r.summary.contains("some.headers"));
}

#[test]
fn protonmsg_body_wrapped_in_a_json_string_is_unwrapped() {
    let inner = json!({"info": {"id": 5, "method": "build"}, "attribute": "state",
                       "old": "FREE", "new": "OPEN"});
    let wrapped = serde_json::to_vec(&Value::String(inner.to_string())).unwrap_or_default();
    let msg = message(
        "VirtualTopic.eng.brew.task.open",
        "amq.topic",
        json!({"type": "TaskStateChange", "id": 5, "method": "build", "attribute": "state",
               "old": "FREE", "new": "OPEN"}),
        &wrapped,
    );
    let r = render(&msg, &brew());
    assert_eq!(r.source, "koji-protonmsg");
    assert_eq!(r.summary, "Task OPEN -- build #5");
    assert_eq!(
        r.url.as_deref(),
        Some("https://brewweb.example.com/brew/taskinfo?taskID=5")
    );
}

#[test]
fn protonmsg_needs_a_matching_address() {
    // A `type` header alone is not enough to claim a message for Koji.
    let msg = json_message(
        "some.app.event",
        "amq.topic",
        json!({"type": "Tag"}),
        json!({"tag": "x"}),
    );
    assert_eq!(render(&msg, &brew()).source, "unknown");
}

#[test]
fn messagebus_task_attribute_changes_are_debug() {
    let msg = json_message(
        "koji.event.TaskStateChange.buildArch.weight",
        "koji.events",
        json!({}),
        json!({"info": {"id": 9, "method": "buildArch"}, "attribute": "weight",
               "old": 1.0, "new": 2.5}),
    );
    let r = render(&msg, &brew());
    assert_eq!(r.source, "koji-messagebus");
    assert_eq!(r.severity, 10);
    assert_eq!(r.summary, "Task #9 -- buildArch: weight 1.0 → 2.5");
}

#[test]
fn raw_koji_without_web_base_has_no_link() {
    let msg = json_message(
        "",
        "koji.events",
        json!({"type": "BuildStateChange", "name": "a", "version": "1", "release": "2",
               "new": 1}),
        json!({"info": {"id": 3}, "attribute": "state", "old": 0, "new": 1}),
    );
    let r = render(&msg, &RenderContext::default());
    assert_eq!(r.source, "koji-messagebus");
    assert_eq!(r.summary, "Build COMPLETE: a-1-2");
    assert_eq!(r.packages, ["a"]);
    assert_eq!(r.url, None);
    let r = render(&msg, &brew());
    assert_eq!(
        r.url.as_deref(),
        Some("https://brewweb.example.com/brew/buildinfo?buildID=3")
    );
}

#[test]
fn hostile_configured_bases_are_refused() {
    let msg = json_message(
        "koji.event.RepoInit.x",
        "koji.events",
        json!({}),
        json!({"tag": {"id": 1, "name": "x"}, "repo_id": 2}),
    );
    let ctx = RenderContext {
        koji_web_base: Some("javascript:alert(1)//".to_owned()),
        pulp_base: Some("file:///etc".to_owned()),
        ..Default::default()
    };
    assert_eq!(render(&msg, &ctx).url, None);
}

#[test]
fn koji_summary_neutralises_bidi_but_keeps_names_verbatim() {
    let msg = json_message(
        "org.fedoraproject.prod.buildsys.build.state.change",
        "amq.topic",
        json!({"fedora_messaging_schema": "koji_fedoramessaging.build.BuildStateChangeV1",
               "fedora_messaging_severity": 20}),
        json!({"name": "p", "version": "1", "release": "1", "owner": "\u{202e}evil",
               "old": 0, "new": 1, "build_id": 1, "base_url": "https://koji.example.org"}),
    );
    let r = render(&msg, &RenderContext::default());
    assert_eq!(r.summary, "Build COMPLETE: \u{FFFD}evil's p-1-1");
    assert_eq!(r.users, ["\u{202e}evil"]);
    assert_eq!(
        r.url.as_deref(),
        Some("https://koji.example.org/koji/buildinfo?buildID=1")
    );
}

#[test]
fn huge_strings_are_cut() {
    let big = "x".repeat(100_000);
    let msg = json_message(
        "org.release-monitoring.prod.anitya.project.add",
        "amq.topic",
        json!({"fedora_messaging_schema": "anitya.project.add", "fedora_messaging_severity": 20}),
        json!({"project": {"id": 1, "name": big}, "message": {"agent": big}, "distro": null}),
    );
    let r = render(&msg, &RenderContext::default());
    assert!(r.summary.chars().count() <= text::SUMMARY_MAX_CHARS + 1);
    assert!(r.details.len() < 20 * 1024);
    assert_eq!(r.agent, None);
}

#[test]
fn schema_header_routes_when_the_topic_does_not() {
    let msg = json_message(
        "",
        "amq.topic",
        json!({"fedora_messaging_schema": "copr.build.end", "fedora_messaging_severity": 20}),
        json!({"owner": "o", "copr": "p", "build": 1, "chroot": "c", "status": 1, "user": "o"}),
    );
    let r = render(&msg, &RenderContext::default());
    assert_eq!(r.source, "copr");
    assert_eq!(r.kind, "copr.build.end");
    assert!(r.summary.ends_with("ended as \"succeeded\"."));
}

#[test]
fn pulp_task_link_uses_the_configured_base() {
    let msg = json_message(
        "tasks.0837f608-4696-449a-811f-70ddabe59025",
        "pulp.api.v2",
        json!({}),
        json!({"task_id": "0837f608-4696-449a-811f-70ddabe59025", "state": "finished",
               "tags": ["pulp:repository:r", "pulp:action:publish"], "_ns": "task_status"}),
    );
    let ctx = RenderContext {
        koji_web_base: None,
        pulp_base: Some("https://pulp.example.com".to_owned()),
        ..Default::default()
    };
    let r = render(&msg, &ctx);
    assert_eq!(r.summary, "Pulp publish of r finished");
    assert_eq!(
        r.url.as_deref(),
        Some("https://pulp.example.com/pulp/api/v2/tasks/0837f608-4696-449a-811f-70ddabe59025/")
    );
}

#[test]
fn bodhi_compose_and_override_untag() {
    let h =
        |schema: &str| json!({"fedora_messaging_schema": schema, "fedora_messaging_severity": 20});
    let msg = json_message(
        "org.fedoraproject.prod.bodhi.compose.complete",
        "amq.topic",
        h("bodhi.compose.complete.v1"),
        json!({"agent": "bodhi", "repo": "f40-updates", "success": false, "ctype": "rpm"}),
    );
    let r = render(&msg, &RenderContext::default());
    assert_eq!(r.summary, "bodhi composer failed to compose f40-updates");
    assert_eq!(r.users, ["bodhi"]);
    assert_eq!(r.url, None);

    let msg = json_message(
        "org.fedoraproject.prod.bodhi.buildroot_override.untag",
        "amq.topic",
        h("bodhi.buildroot_override.untag.v1"),
        json!({"override": {"nvr": "a-1-1.fc40", "submitter": {"name": "u"}}}),
    );
    let r = render(&msg, &RenderContext::default());
    assert_eq!(r.summary, "u expired a buildroot override for a-1-1.fc40");
    assert_eq!(r.packages, ["a"]);
}

#[test]
fn empty_and_odd_envelopes_do_not_panic() {
    for (topic, exchange) in [
        ("", ""),
        (".", "."),
        ("org..", ""),
        ("tasks.", "pulp.api.v2"),
    ] {
        for body in [&b""[..], b"{}", b"[]", b"null", b"\xff\xfe", b"\"{}\""] {
            let msg = message(topic, exchange, json!({"type": "Tag"}), body);
            let _ = render(&msg, &brew());
        }
    }
}

#[test]
fn bodhi_ready_for_testing_first_version_reads_the_artifact() {
    let msg = json_message(
        "org.fedoraproject.prod.bodhi.update.status.testing.koji-build-group.build.complete",
        "amq.topic",
        json!({"fedora_messaging_schema": "bodhi.update.status.testing.v1",
               "fedora_messaging_severity": 10}),
        json!({"agent": "bodhi", "contact": {"name": "bodhi", "team": "t", "docs": "d", "email": "e"},
               "artifact": {"id": "FEDORA-2020-1", "type": "rpm-build-group",
                            "builds": [{"type": "koji-build", "id": 1, "task_id": 2,
                                        "component": "foo", "issuer": "alice",
                                        "scratch": false, "nvr": "foo-1-1.fc32"}],
                            "repository": "https://example.org", "release": "f32"},
               "generated_at": "x", "version": "0.2.2"}),
    );
    let r = render(&msg, &RenderContext::default());
    assert_eq!(
        r.summary,
        "bodhi's foo-1-1.fc32 bodhi update is ready for testing"
    );
    assert_eq!(r.users, ["alice", "bodhi"]);
    assert_eq!(r.packages, ["foo"]);
    assert_eq!(r.severity, 10);
    assert_eq!(
        r.url.as_deref(),
        Some("https://bodhi.fedoraproject.org/updates/FEDORA-2020-1")
    );
}

#[test]
fn package_chain_producers_are_found_by_schema_when_the_topic_says_nothing() {
    let cases = [
        (
            "hotness.update.drop",
            json!({"reason": "x"}),
            "hotness",
            "hotness.update.drop",
        ),
        (
            "bugzilla2fedmsg.messageV1bz4",
            json!({"event": {"action": "create", "target": "bug"}}),
            "bugzilla",
            "bugzilla.bug.new",
        ),
        (
            "fedora_messaging_git_hook.commit.v1",
            json!({}),
            "dist-git",
            "git.receive",
        ),
        (
            "koschei.collection.state.change",
            json!({}),
            "koschei",
            "koschei.collection.state.change",
        ),
        // CI Messages and the base class name no producer without their topic.
        ("ci_messages.CIMessageV1", json!({}), "unknown", ""),
        ("base.message", json!({}), "unknown", ""),
    ];
    for (schema, body, source, kind) in cases {
        let msg = json_message(
            "",
            "some.headers",
            json!({"fedora_messaging_schema": schema, "fedora_messaging_severity": 20}),
            body,
        );
        let r = render(&msg, &RenderContext::default());
        assert_eq!(r.source, source, "{schema}");
        if !kind.is_empty() {
            assert_eq!(r.kind, kind, "{schema}");
        }
    }
}

#[test]
fn package_chain_messages_without_schema_headers_name_no_one_and_link_nowhere() {
    let body = json!({"agent": "alice", "commit": {"repo": "p", "namespace": "rpms",
                      "branch": "rawhide", "summary": "s",
                      "url": "https://src.fedoraproject.org/rpms/p/c/1?branch=rawhide"}});
    let msg = json_message(
        "org.fedoraproject.prod.git.receive",
        "amq.topic",
        json!({}),
        body,
    );
    let r = render(&msg, &RenderContext::default());
    assert_eq!(r.source, "dist-git");
    assert_eq!(r.summary, "alice pushed to rpms/p (rawhide). \"s\"");
    assert!(r.users.is_empty() && r.packages.is_empty() && r.agent.is_none());
    assert_eq!(r.url, None);
    let ctx = RenderContext::default();
    assert!(ctx.trusts("dist-git", "https://src.fedoraproject.org/rpms/p"));
    assert!(!ctx.trusts("dist-git", "https://src.fedoraproject.org.evil.example/"));
}
