//! Bus-shaped messages of package chains for `herald bench packages`: Koji builds and tags,
//! Bodhi updates, comments and pushes, Greenwave decisions, CI results, Anitya releases and
//! Copr builds for packages drawn from [`synthetic::PACKAGES`] names, mixed with Koji task
//! and repo messages the model ignores — with the headers fedora-messaging sets. Versions
//! grow with the message number, so each package's chain keeps moving forward as a real
//! one does.

use super::synthetic::{name, PACKAGES, USERS};
use herald_core::message::{headers_from_json, Envelope, Properties};
use serde_json::{json, Value};
use time::OffsetDateTime;

/// Out of every 20 messages of the mixed stream, how many of each kind.
const MIX: [Kind; 20] = [
    Kind::Build,
    Kind::Build,
    Kind::Build,
    Kind::Build,
    Kind::Tag,
    Kind::Tag,
    Kind::UpdateRequest,
    Kind::UpdateTesting,
    Kind::Comment,
    Kind::UpdateStable,
    Kind::Decision,
    Kind::Ci,
    Kind::Anitya,
    Kind::Copr,
    Kind::Task,
    Kind::Task,
    Kind::Task,
    Kind::Task,
    Kind::Repo,
    Kind::Repo,
];

/// The karma comments give, in turn.
const KARMA: [i64; 4] = [1, 0, -1, 1];

/// The share of [`MIX`] whose topics the package model reads.
pub const CHAIN_SHARE: f64 = 14.0 / 20.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Build,
    Tag,
    UpdateRequest,
    UpdateTesting,
    Comment,
    UpdateStable,
    Decision,
    Ci,
    Anitya,
    Copr,
    Task,
    Repo,
}

/// The i-th message of the mixed stream (70% chain topics).
pub fn envelope(i: usize) -> Envelope {
    message(i, MIX[i % MIX.len()])
}

/// The i-th message of a stream of chain topics only.
pub fn chain_only(i: usize) -> Envelope {
    message(i, MIX[i % 14])
}

/// The package the i-th message is about.
pub fn package(i: usize) -> String {
    name(i.wrapping_mul(104_729), PACKAGES, "")
}

fn message(i: usize, kind: Kind) -> Envelope {
    let pkg = package(i);
    let user = name(i.wrapping_mul(7919), USERS, "u");
    // A new version of every package every 20,000 messages; half of the traffic is Rawhide.
    let round = i / 20_000;
    let rawhide = (i / 7) % 2 == 0;
    let (number, target) = if rawhide {
        (44, "rawhide".to_owned())
    } else {
        (43, "f43-candidate".to_owned())
    };
    let version = format!("{}.{}.{}", 1 + round / 100, round % 100, i % 3);
    let release = format!("1.fc{number}");
    let nvr = format!("{pkg}-{version}-{release}");
    let alias = format!(
        "FEDORA-2025-{:010x}",
        (i / 20) as u64 * 2_654_435_761 % (1 << 40)
    );
    let build_id = 3_000_000 + i / 4;
    let (topic, schema, body, users, packages): (&str, &str, Value, Vec<&str>, Vec<&str>) =
        match kind {
            Kind::Build => {
                let new = [0, 1, 1, 3][i % 4];
                (
                    "org.fedoraproject.prod.buildsys.build.state.change",
                    "koji_fedoramessaging.build.BuildStateChangeV1",
                    json!({
                        "build_id": build_id, "old": if new == 0 { Value::Null } else { json!(0) },
                        "new": new, "name": pkg, "task_id": 140_000_000 + i, "attribute": "state",
                        "instance": "primary", "epoch": null, "version": version,
                        "release": release, "owner": user,
                        "request": [format!("git+https://src.fedoraproject.org/rpms/{pkg}.git#5f8f367e482fe8e30711aea49bf2ecfd163d278f"), target, {}],
                        "task": task(i, &pkg, &target),
                        "creation_time": "2025-10-07T14:00:00+00:00",
                        "completion_time": if new == 0 { Value::Null } else { json!("2025-10-07T14:06:40+00:00") },
                        "url": format!("https://koji.fedoraproject.org/koji/buildinfo?buildID={build_id}"),
                        "base_url": "https://koji.fedoraproject.org",
                        "files_base_url": "https://kojipkgs.fedoraproject.org/work",
                    }),
                    vec![user.as_str()],
                    vec![pkg.as_str()],
                )
            }
            Kind::Tag => {
                let tag = match (rawhide, i % 2) {
                    (true, 0) => "f44-updates-candidate".to_owned(),
                    (true, _) => "f44".to_owned(),
                    (false, 0) => "f43-updates-candidate".to_owned(),
                    (false, _) => "f43-updates".to_owned(),
                };
                (
                    "org.fedoraproject.prod.buildsys.tag",
                    "koji_fedoramessaging.tag.TagV1",
                    json!({"build_id": build_id, "name": pkg, "tag_id": 11_204, "instance": "primary",
                        "tag": tag, "user": "bodhi", "version": version, "owner": user,
                        "release": release, "base_url": "https://koji.fedoraproject.org"}),
                    vec!["bodhi", user.as_str()],
                    vec![pkg.as_str()],
                )
            }
            Kind::UpdateRequest | Kind::UpdateTesting | Kind::UpdateStable => {
                let (topic, schema, status, request) = match kind {
                    Kind::UpdateRequest => (
                        "org.fedoraproject.prod.bodhi.update.request.testing",
                        "bodhi.update.request.testing.v1",
                        "pending",
                        json!("testing"),
                    ),
                    Kind::UpdateTesting => (
                        "org.fedoraproject.prod.bodhi.update.complete.testing",
                        "bodhi.update.complete.testing.v1",
                        "testing",
                        Value::Null,
                    ),
                    _ => (
                        "org.fedoraproject.prod.bodhi.update.complete.stable",
                        "bodhi.update.complete.stable.v1",
                        "stable",
                        Value::Null,
                    ),
                };
                (
                    topic,
                    schema,
                    json!({"agent": user, "update": update(&alias, &nvr, &user, number, rawhide, status, request, i)}),
                    vec![user.as_str()],
                    vec![pkg.as_str()],
                )
            }
            Kind::Comment => (
                "org.fedoraproject.prod.bodhi.update.comment",
                "bodhi.update.comment.v1",
                json!({"comment": {"id": 4_000_000 + i, "karma": KARMA[i % 4],
                    "text": "Works for me: the application starts and the test suite passes.",
                    "timestamp": "2025-10-08 10:00:00", "update_alias": alias,
                    "user": {"name": "alice"},
                    "update": update(&alias, &nvr, &user, number, rawhide, "testing", Value::Null, i)},
                    "agent": "alice"}),
                vec!["alice", user.as_str()],
                vec![pkg.as_str()],
            ),
            Kind::Decision => {
                let passed = i % 3 == 0;
                (
                    "org.fedoraproject.prod.greenwave.decision.update",
                    "base.message",
                    json!({
                        "decision_context": "bodhi_update_push_testing",
                        "product_version": format!("fedora-{number}"),
                        "subject": [{"item": nvr, "type": "koji_build"}],
                        "subject_type": "koji_build", "subject_identifier": nvr,
                        "policies_satisfied": passed,
                        "summary": if passed { "All required tests passed" } else { "1 of 2 required test results missing" },
                        "applicable_policies": ["kojibuild_bodhipush_no_requirements", "kojibuild_bodhipush_remoterule"],
                        "satisfied_requirements": [{"result_id": 51_000_000 + i, "testcase": "fedora-ci.koji-build.tier0.functional", "type": "test-result-passed"}],
                        "unsatisfied_requirements": if passed { json!([]) } else {
                            json!([{"item": {"item": nvr, "type": "koji_build"}, "subject_type": "koji_build",
                                "subject_identifier": nvr, "testcase": "fedora-ci.koji-build.installability.functional",
                                "type": "test-result-missing", "scenario": null}])
                        },
                        "previous": null,
                    }),
                    vec![],
                    vec![],
                )
            }
            Kind::Ci => (
                "org.centos.prod.ci.koji-build.test.complete",
                "ci_messages.CIMessageV1",
                json!({
                    "contact": {"name": "Fedora CI", "team": "Fedora CI", "docs": "https://docs.fedoraproject.org/en-US/ci/", "email": "ci@lists.fedoraproject.org"},
                    "run": {"url": format!("https://artifacts.dev.testing-farm.io/{i:08x}/"), "log": format!("https://artifacts.dev.testing-farm.io/{i:08x}/pipeline.log")},
                    "artifact": {"type": "koji-build", "id": 140_000_000 + i, "issuer": user, "component": pkg, "nvr": nvr, "scratch": false},
                    "pipeline": {"id": format!("{i:08x}"), "name": "tier0"},
                    "test": {"category": "functional", "namespace": "fedora-ci.koji-build", "type": "tier0", "result": if i % 5 == 0 { "failed" } else { "passed" }},
                    "generated_at": "2025-10-07T16:44:58.102934Z", "version": "1.1.14",
                }),
                vec![],
                vec![],
            ),
            Kind::Anitya => {
                let upstream = format!("{}.{}.{}", 1 + (round + 1) / 100, (round + 1) % 100, 0);
                (
                    "org.release-monitoring.prod.anitya.project.version.update.v2",
                    "anitya.project.version.update.v2",
                    json!({
                        "project": {"id": 10_000 + i % 50_000, "name": pkg, "homepage": format!("https://github.com/{user}/{pkg}"),
                            "backend": "GitHub", "ecosystem": "https://github.com", "version": upstream,
                            "versions": [upstream, version], "stable_versions": [upstream, version],
                            "version_url": format!("{user}/{pkg}"), "regex": null,
                            "created_on": 1_412_174_944.0, "updated_on": 1_714_644_000.0},
                        "distro": null,
                        "message": {"project": {"id": 10_000 + i % 50_000, "name": pkg}, "agent": "anitya",
                            "upstream_versions": [upstream], "old_version": version,
                            "packages": [{"distro": "Fedora", "package_name": pkg}], "ecosystem": "https://github.com",
                            "odd_change": false, "versions": [upstream, version], "stable_versions": [upstream, version]}
                    }),
                    vec![],
                    vec![pkg.as_str()],
                )
            }
            Kind::Copr => (
                "org.fedoraproject.prod.copr.build.end",
                "copr.build.end",
                json!({"build": 7_000_000 + i, "owner": user, "copr": format!("{pkg}-devel"),
                    "chroot": "fedora-rawhide-x86_64", "pkg": pkg, "version": format!("{version}-1"),
                    "status": i % 2, "user": user, "ip": "2620:52:3:1:dead:beef:cafe:c1d9", "pid": 1234 + i % 1000,
                    "who": "backend.worker-rpm_build_worker:7000000-fedora-rawhide-x86_64",
                    "what": format!("build end: user:{user} copr:{pkg}-devel pkg:{pkg} version:{version}-1 status:1")}),
                vec![user.as_str()],
                vec![],
            ),
            Kind::Task => (
                "org.fedoraproject.prod.buildsys.task.state.change",
                "koji_fedoramessaging.task.TaskStateChangeV1",
                json!({"id": 140_000_000 + i, "parent": 140_000_000 + i - i % 4, "method": "buildArch",
                    "arch": "x86_64", "owner": user, "old": "OPEN", "new": "CLOSED", "attribute": "state",
                    "instance": "primary", "srpm": format!("{nvr}.src.rpm"), "label": null,
                    "info": task(i, &pkg, &target), "base_url": "https://koji.fedoraproject.org"}),
                vec![user.as_str()],
                vec![],
            ),
            Kind::Repo => (
                "org.fedoraproject.prod.buildsys.repo.done",
                "koji_fedoramessaging.repo.DoneV1",
                json!({"instance": "primary", "repo_id": 6_000_000 + i, "tag": format!("f{number}-build"),
                    "tag_id": 11_000 + number, "base_url": "https://koji.fedoraproject.org"}),
                vec![],
                vec![],
            ),
        };
    let now = OffsetDateTime::now_utc();
    // Ten messages a second, in send order, ending about now.
    let sent = now.unix_timestamp() - 200_000 + (i as i64 / 10) % 200_000;
    let sent_at = OffsetDateTime::from_unix_timestamp(sent)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut headers = json!({
        "fedora_messaging_schema": schema,
        "fedora_messaging_severity": 20,
        "sent-at": sent_at,
        "priority": 0,
    });
    if let Some(h) = headers.as_object_mut() {
        for u in users {
            h.insert(format!("fedora_messaging_user_{u}"), json!(true));
        }
        for p in packages {
            h.insert(format!("fedora_messaging_rpm_{p}"), json!(true));
        }
    }
    Envelope {
        exchange: "amq.topic".into(),
        routing_key: topic.to_owned(),
        properties: Properties {
            message_id: Some(uuid::Uuid::new_v4().to_string()),
            content_type: Some("application/json".into()),
            content_encoding: Some("utf-8".into()),
            delivery_mode: Some(2),
            ..Properties::default()
        },
        headers: headers.as_object().map(headers_from_json),
        body: serde_json::to_vec(&body).unwrap_or_default(),
        received_at: now,
    }
}

fn task(i: usize, pkg: &str, target: &str) -> Value {
    json!({"id": 140_000_000 + i, "method": "build", "arch": "noarch", "state": 2, "priority": 20,
        "host_name": "buildvm-x86-19.rdu3.fedoraproject.org", "channel_id": 1, "label": null,
        "create_time": 1_759_845_600.0, "start_time": 1_759_845_601.0, "completion_time": 1_759_846_000.0,
        "waiting": null, "awaited": null, "owner": 4242, "parent": null, "result": null,
        "request": [format!("git+https://src.fedoraproject.org/rpms/{pkg}.git#5f8f367e482fe8e30711aea49bf2ecfd163d278f"), target, {}],
        "url": format!("https://koji.fedoraproject.org/koji/taskinfo?taskID={}", 140_000_000 + i),
        "children": [{"id": 140_000_001 + i, "method": "buildArch", "arch": "x86_64", "state": 2},
                     {"id": 140_000_002 + i, "method": "buildArch", "arch": "aarch64", "state": 2}]})
}

#[allow(clippy::too_many_arguments)]
fn update(
    alias: &str,
    nvr: &str,
    user: &str,
    number: u32,
    rawhide: bool,
    status: &str,
    request: Value,
    i: usize,
) -> Value {
    json!({
        "alias": alias, "autokarma": !rawhide, "autotime": true, "bugs": [],
        "builds": [{"epoch": 0, "nvr": nvr, "release_id": number, "signed": status != "pending", "type": "rpm"}],
        "close_bugs": true, "content_type": "rpm", "critpath": false, "date_submitted": "2025-10-07T14:10:00",
        "karma": (i % 3) as i64 - 1, "notes": format!("Update to {nvr}."), "pushed": status != "pending",
        "release": {"name": format!("F{number}"), "long_name": format!("Fedora {number}"), "version": number.to_string(),
            "id_prefix": "FEDORA", "branch": if rawhide { "rawhide".to_owned() } else { format!("f{number}") },
            "dist_tag": format!("f{number}"), "candidate_tag": format!("f{number}-updates-candidate"),
            "stable_tag": if rawhide { format!("f{number}") } else { format!("f{number}-updates") },
            "composed_by_bodhi": !rawhide, "state": "current"},
        "request": request, "severity": "unspecified", "stable_karma": 3, "status": status,
        "test_gating_status": "waiting", "title": nvr, "type": "enhancement", "unstable_karma": -3,
        "url": format!("https://bodhi.fedoraproject.org/updates/{alias}"),
        "user": {"name": user}
    })
}
