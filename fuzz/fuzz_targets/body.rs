//! A body from any producer Herald renders. The first byte picks a real route (exchange, topic
//! and the header a renderer keys on, taken from the fixture corpus) and whether links have a
//! Koji and Pulp base; the rest is the body. Decoding and every source renderer must survive
//! any body.
#![no_main]

use herald_core::history::Entry;
use herald_core::message::{Envelope, Properties};
use herald_core::sources::RenderContext;
use herald_core::Message;
use lapin::types::{AMQPValue, FieldTable, LongString};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

/// (exchange, topic, header name, header value); fewer than 128, so the top bit of the first
/// byte is free for the render context.
#[rustfmt::skip]
const ROUTES: &[(&str, &str, &str, &str)] = &[
    ("amq.topic", "org.release-monitoring.prod.anitya.distro.add", "fedora_messaging_schema", "anitya.distro.add"),
    ("amq.topic", "org.release-monitoring.prod.anitya.distro.edit", "fedora_messaging_schema", "anitya.distro.edit"),
    ("amq.topic", "org.release-monitoring.prod.anitya.distro.remove", "fedora_messaging_schema", "anitya.distro.remove"),
    ("amq.topic", "org.release-monitoring.prod.anitya.project.add", "fedora_messaging_schema", "anitya.project.add"),
    ("amq.topic", "org.release-monitoring.prod.anitya.project.edit", "fedora_messaging_schema", "anitya.project.edit"),
    ("amq.topic", "org.release-monitoring.prod.anitya.project.flag", "fedora_messaging_schema", "anitya.project.flag"),
    ("amq.topic", "org.release-monitoring.prod.anitya.project.flag.set", "fedora_messaging_schema", "anitya.project.flag.set"),
    ("amq.topic", "org.release-monitoring.prod.anitya.project.map.new", "fedora_messaging_schema", "anitya.project.map.new"),
    ("amq.topic", "org.release-monitoring.prod.anitya.project.map.remove", "fedora_messaging_schema", "anitya.project.map.remove"),
    ("amq.topic", "org.release-monitoring.prod.anitya.project.map.update", "fedora_messaging_schema", "anitya.project.map.update"),
    ("amq.topic", "org.release-monitoring.prod.anitya.project.remove", "fedora_messaging_schema", "anitya.project.remove"),
    ("amq.topic", "org.release-monitoring.prod.anitya.project.version.remove", "fedora_messaging_schema", "anitya.project.version.remove"),
    ("amq.topic", "org.release-monitoring.prod.anitya.project.version.remove.v2", "fedora_messaging_schema", "anitya.project.version.remove.v2"),
    ("amq.topic", "org.release-monitoring.prod.anitya.project.version.update", "fedora_messaging_schema", "anitya.project.version.update"),
    ("amq.topic", "org.release-monitoring.prod.anitya.project.version.update.v2", "fedora_messaging_schema", "anitya.project.version.update.v2"),
    ("amq.topic", "org.fedoraproject.prod.bodhi.buildroot_override.tag", "fedora_messaging_schema", "bodhi.buildroot_override.tag.v1"),
    ("amq.topic", "org.fedoraproject.prod.bodhi.update.comment", "fedora_messaging_schema", "bodhi.update.comment.v1"),
    ("amq.topic", "org.fedoraproject.prod.bodhi.update.request.testing", "fedora_messaging_schema", "bodhi.update.request.testing.v1"),
    ("amq.topic", "org.fedoraproject.prod.bodhi.update.request.unpush", "fedora_messaging_schema", "bodhi.update.request.unpush.v1"),
    ("amq.topic", "org.fedoraproject.prod.buildsys.build.state.change", "fedora_messaging_schema", "koji_fedoramessaging.build.BuildStateChangeV1"),
    ("amq.topic", "org.fedoraproject.prod.buildsys.package.list.change", "fedora_messaging_schema", "koji_fedoramessaging.package.ListChangeV1"),
    ("amq.topic", "org.fedoraproject.prod.buildsys.repo.done", "fedora_messaging_schema", "koji_fedoramessaging.repo.DoneV1"),
    ("amq.topic", "org.fedoraproject.prod.buildsys.repo.init", "fedora_messaging_schema", "koji_fedoramessaging.repo.InitV1"),
    ("amq.topic", "org.fedoraproject.prod.buildsys.rpm.sign", "fedora_messaging_schema", "koji_fedoramessaging.rpm.SignV1"),
    ("amq.topic", "org.fedoraproject.prod.buildsys.tag", "fedora_messaging_schema", "koji_fedoramessaging.tag.TagV1"),
    ("amq.topic", "org.fedoraproject.prod.buildsys.untag", "fedora_messaging_schema", "koji_fedoramessaging.tag.UntagV1"),
    ("amq.topic", "org.fedoraproject.stg.buildsys.task.state.change", "fedora_messaging_schema", "koji_fedoramessaging.task.TaskStateChangeV1"),
    ("amq.topic", "org.fedoraproject.prod.copr.build.end", "fedora_messaging_schema", "copr.build.end"),
    ("amq.topic", "org.fedoraproject.prod.copr.build.end", "", ""),
    ("amq.topic", "org.fedoraproject.prod.copr.build.start", "fedora_messaging_schema", "copr.build.start"),
    ("amq.topic", "org.fedoraproject.prod.copr.chroot.start", "fedora_messaging_schema", "copr.chroot.start"),
    ("amq.topic", "org.fedoraproject.prod.mystery.thing", "fedora_messaging_schema", "mystery.thing.v9"),
    ("amq.topic", "org.fedoraproject.prod.hotness.update.bug.file", "fedora_messaging_schema", "hotness.update.bug.file"),
    ("amq.topic", "org.fedoraproject.prod.hotness.update.drop", "fedora_messaging_schema", "hotness.update.drop"),
    ("amq.topic", "org.fedoraproject.prod.bugzilla.bug.new", "fedora_messaging_schema", "bugzilla2fedmsg.messageV1bz4"),
    ("amq.topic", "org.fedoraproject.prod.bugzilla.bug.update", "fedora_messaging_schema", "bugzilla2fedmsg.messageV1bz4"),
    ("amq.topic", "org.fedoraproject.prod.git.receive", "fedora_messaging_schema", "fedora_messaging_git_hook.commit.v1"),
    ("amq.topic", "org.centos.prod.ci.koji-build.test.complete", "fedora_messaging_schema", "ci_messages.CIMessageV1"),
    ("amq.topic", "org.centos.prod.ci.koji-build.test.error", "fedora_messaging_schema", "ci_messages.CIMessageV1"),
    ("amq.topic", "org.fedoraproject.prod.resultsdb.result.new", "fedora_messaging_schema", "base.message"),
    ("amq.topic", "org.fedoraproject.prod.greenwave.decision.update", "fedora_messaging_schema", "base.message"),
    ("amq.topic", "org.fedoraproject.prod.waiverdb.waiver.new", "fedora_messaging_schema", "base.message"),
    ("amq.topic", "org.fedoraproject.prod.koschei.package.state.change", "fedora_messaging_schema", "koschei.package.state.change"),
    ("amq.topic", "org.fedoraproject.prod.koschei.collection.state.change", "fedora_messaging_schema", "koschei.collection.state.change"),
    ("koji.events", "", "type", "BuildStateChange"),
    ("koji.events", "", "type", "TaskStateChange"),
    ("koji.events", "", "type", "Untag"),
    ("koji.events", "koji.event.BuildStateChange.state.selinux-policy", "qpid.subject", "koji.event.BuildStateChange.state.selinux-policy"),
    ("koji.events", "koji.event.Import.rpm", "qpid.subject", "koji.event.Import.rpm"),
    ("koji.events", "koji.event.PackageListChange.extras-rhel-7_4-set.python-mock", "qpid.subject", "koji.event.PackageListChange.extras-rhel-7_4-set.python-mock"),
    ("koji.events", "koji.event.RepoDone.jb-eap-6_3-jdk7-rhel-6-build", "qpid.subject", "koji.event.RepoDone.jb-eap-6_3-jdk7-rhel-6-build"),
    ("koji.events", "koji.event.RepoInit.rhel-7_4-build", "qpid.subject", "koji.event.RepoInit.rhel-7_4-build"),
    ("koji.events", "koji.event.Tag.rhel-7_4-candidate.python-gssapi.rharwood", "qpid.subject", "koji.event.Tag.rhel-7_4-candidate.python-gssapi.rharwood"),
    ("koji.events", "koji.event.TaskStateChange.build.state", "qpid.subject", "koji.event.TaskStateChange.build.state"),
    ("amq.topic", "VirtualTopic.eng.brew.build.canceled", "type", "BuildStateChange"),
    ("amq.topic", "VirtualTopic.eng.brew.package.add", "type", "PackageListChange"),
    ("amq.topic", "VirtualTopic.eng.brew.sign.rpm", "type", "RPMSign"),
    ("amq.topic", "VirtualTopic.eng.brew.task.failed", "type", "TaskStateChange"),
    ("pulp.api.v2", "tasks.66cdb291-87a4-4cc8-872c-8d191fdcc84a", "", ""),
    ("amq.topic", "pulp.server.repo.publish.finish", "", ""),
    ("amq.topic", "pulp.server.repo.publish.start", "", ""),
    ("amq.topic", "pulp.server.repo.sync.finish", "", ""),
    ("amq.topic", "pulp.server.repo.sync.start", "", ""),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let (exchange, topic, name, value) = ROUTES[usize::from(pick & 0x7f) % ROUTES.len()];
    let text = |s: &str| AMQPValue::LongString(LongString::from(s.as_bytes().to_vec()));
    // What fedora-messaging sets on every message, so mentions, severity and send time are
    // read as they are in production, for any route.
    let mut headers = FieldTable::default();
    for (k, v) in [
        ("sent-at", text("2026-12-06T12:00:00+00:00")),
        ("fedora_messaging_severity", AMQPValue::LongLongInt(20)),
        ("fedora_messaging_user_spot", AMQPValue::Boolean(true)),
        ("fedora_messaging_rpm_chromium", AMQPValue::Boolean(true)),
    ] {
        headers.insert(k.into(), v);
    }
    if !name.is_empty() {
        headers.insert(name.into(), text(value));
    }
    let env = Envelope {
        exchange: exchange.to_owned(),
        routing_key: topic.to_owned(),
        properties: Properties {
            content_type: Some("application/json".to_owned()),
            content_encoding: Some("utf-8".to_owned()),
            ..Properties::default()
        },
        headers: Some(headers),
        body: body.to_vec(),
        received_at: OffsetDateTime::from_unix_timestamp(1_796_601_600).expect("2026-12-07"),
    };
    // Links are built differently with and without configured bases.
    let ctx = if pick & 0x80 == 0 {
        RenderContext::default()
    } else {
        RenderContext {
            koji_web_base: Some("https://koji.fedoraproject.org/koji".to_owned()),
            pulp_base: Some("https://pulp.example.com".to_owned()),
            ..RenderContext::default()
        }
    };
    let _ = Entry::new(Message::decode(env), &ctx);
});
