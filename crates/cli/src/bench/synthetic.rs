//! Bus-shaped messages for benchmarks: Koji builds, Anitya releases and Copr builds with the
//! headers fedora-messaging sets, 1–3 KB bodies, names drawn from fixed pools.

use herald_core::message::{headers_from_json, Envelope, Properties};
use serde_json::json;
use time::OffsetDateTime;

const SYLLABLES: [&str; 16] = [
    "gno", "me", "py", "thon", "lib", "ru", "st", "ko", "ji", "ca", "ir", "gtk", "qt", "xml",
    "ssl", "zip",
];

/// The i-th name of a pool of `size` names, e.g. `python-gtkme-17`.
pub fn name(i: usize, size: usize, prefix: &str) -> String {
    let k = i % size;
    let a = SYLLABLES[k % 16];
    let b = SYLLABLES[(k / 16) % 16];
    format!("{prefix}{a}{b}-{}", k / 256)
}

pub const USERS: usize = 2_000;
pub const PACKAGES: usize = 5_000;

/// The i-th synthetic message, as it would arrive from the broker.
pub fn envelope(i: usize) -> Envelope {
    let user = name(i.wrapping_mul(7919), USERS, "u");
    let pkg = name(i.wrapping_mul(104_729), PACKAGES, "");
    let now = OffsetDateTime::now_utc();
    // Ten messages a second, in send order, ending about now.
    let sent = now.unix_timestamp() - 200_000 + (i as i64 / 10) % 200_000;
    let sent_at = OffsetDateTime::from_unix_timestamp(sent)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let (topic, schema, body) = match i % 3 {
        0 => (
            "org.fedoraproject.prod.buildsys.build.state.change",
            "koji_fedoramessaging.build.BuildStateChangeV1",
            json!({
                "build_id": 1_000_000 + i, "old": 0, "new": 1 + (i % 3), "name": pkg,
                "task_id": 40_000_000 + i, "attribute": "state", "instance": "primary",
                "epoch": null, "version": format!("{}.{}.{}", i % 7, i % 13, i % 5),
                "release": "1.fc41", "owner": user,
                "request": [format!("git+https://src.fedoraproject.org/rpms/{pkg}.git#5f8f367e482fe8e30711aea49bf2ecfd163d278f"), "rawhide", {}],
                "task": {"id": 40_000_000 + i, "method": "build", "arch": "noarch", "state": 2,
                    "host_name": "buildvm-x86-19.iad2.fedoraproject.org", "priority": 20,
                    "url": format!("https://koji.fedoraproject.org/koji/taskinfo?taskID={}", 40_000_000 + i),
                    "children": [{"id": 40_000_001 + i, "method": "buildArch", "arch": "x86_64", "state": 2},
                                 {"id": 40_000_002 + i, "method": "buildArch", "arch": "aarch64", "state": 2}]},
                "creation_time": "2024-05-02T09:00:00+00:00", "completion_time": "2024-05-02T10:00:00+00:00",
                "url": format!("https://koji.fedoraproject.org/koji/buildinfo?buildID={}", 1_000_000 + i),
                "base_url": "https://koji.fedoraproject.org",
                "files_base_url": "https://kojipkgs.fedoraproject.org/work",
            }),
        ),
        1 => (
            "org.release-monitoring.prod.anitya.project.version.update.v2",
            "anitya.project.version.update.v2",
            json!({
                "project": {"id": 10_000 + i % 50_000, "name": pkg, "homepage": format!("https://github.com/{user}/{pkg}"),
                    "backend": "GitHub", "ecosystem": "https://github.com", "version": format!("{}.{}", i % 9, i % 31),
                    "versions": [format!("{}.{}", i % 9, i % 31), "1.2.0", "1.1.0", "1.0.0"],
                    "stable_versions": [format!("{}.{}", i % 9, i % 31), "1.2.0"],
                    "version_url": format!("{user}/{pkg}"), "regex": null,
                    "created_on": 1_412_174_944.0, "updated_on": 1_714_644_000.0},
                "distro": null,
                "message": {"project": {"id": 10_000 + i % 50_000, "name": pkg}, "agent": "anitya",
                    "upstream_versions": [format!("{}.{}", i % 9, i % 31)], "old_version": "1.2.0",
                    "packages": [{"distro": "Fedora", "package_name": pkg}], "ecosystem": "https://github.com",
                    "odd_change": false, "versions": ["1.2.0", "1.1.0"], "stable_versions": ["1.2.0"]}
            }),
        ),
        _ => (
            "org.fedoraproject.prod.copr.build.end",
            "copr.build.end",
            json!({
                "build": 7_000_000 + i, "owner": user, "copr": format!("{pkg}-devel"),
                "chroot": "fedora-rawhide-x86_64", "pkg": pkg, "version": format!("{}.{}-1", i % 9, i % 31),
                "status": i % 2, "user": user, "ip": "2620:52:3:1:dead:beef:cafe:c1d9", "pid": 1234 + i % 1000,
                "who": "backend.worker-rpm_build_worker:7000000-fedora-rawhide-x86_64",
                "what": format!("build end: user:{user} copr:{pkg}-devel build:{} pkg:{pkg} version:1.0-1 ip:2620:52:3:1:dead:beef:cafe:c1d9 pid:1234 status:1", 7_000_000 + i)
            }),
        ),
    };
    let mut headers = json!({
        "fedora_messaging_schema": schema,
        "fedora_messaging_severity": 20,
        "sent-at": sent_at,
        "priority": 0,
    });
    if let Some(h) = headers.as_object_mut() {
        if i % 3 != 1 {
            h.insert(format!("fedora_messaging_user_{user}"), json!(true));
        }
        if i % 3 != 2 {
            h.insert(format!("fedora_messaging_rpm_{pkg}"), json!(true));
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
