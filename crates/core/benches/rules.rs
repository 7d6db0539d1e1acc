//! Rule evaluation cost: 100 rules (the defaults for a profile watching 500 packages, plus 92
//! user rules of varied shapes) against 50 synthetic Koji, Bodhi, Anitya, Copr and other
//! messages, most of which no rule matches, so evaluation walks every rule. The target is
//! under 5 µs per message; the `mix` throughput line reports messages per second, and
//! `unmatched` is the worst case for one message. `hashes_long_key` is one topic pattern of
//! many `#`s against a 255-byte routing key it does not match, the matcher's worst shape.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use herald_core::filter::{
    effective_rules, Action, BodyPredicate, Conditions, HeaderMatch, MatchMode, Names, Pattern,
    Profile, RuleSet, RuleSpec, Subject,
};
use herald_core::message::{headers_from_json, Mentions};
use lapin::types::FieldTable;
use serde_json::{json, Value};
use std::hint::black_box;

const SERVICES: [&str; 12] = [
    "pagure",
    "fas",
    "mdapi",
    "badges",
    "fedocal",
    "meetbot",
    "wiki",
    "planet",
    "greenwave",
    "resultsdb",
    "waiverdb",
    "mirrormanager",
];

fn watched(i: usize) -> String {
    format!("pkg-{i:03}")
}

fn profile() -> Profile {
    Profile {
        users: vec!["spot".to_owned()],
        packages: (0..500).map(watched).collect(),
        ..Profile::default()
    }
}

fn predicate(pointer: &str) -> BodyPredicate {
    BodyPredicate {
        pointer: pointer.to_owned(),
        equals: None,
        one_of: None,
        matches: None,
        exists: None,
    }
}

/// 92 user rules of eight shapes, none too broad, so most messages fall through.
fn user_rules() -> Vec<RuleSpec> {
    (0..92)
        .map(|i| {
            let svc = SERVICES[i % SERVICES.len()];
            let subset = |n: usize| Names::any_of((0..n).map(|k| watched((i * 37 + k * 11) % 500)));
            let mut when = Conditions::default();
            let mut unless = None;
            let action = [Action::Notify, Action::History, Action::Drop][i % 3];
            match i % 8 {
                0 => when.topics = vec![format!("org.fedoraproject.*.{svc}.{i}.#")],
                1 => {
                    when.topics = vec!["org.fedoraproject.*.bodhi.update.comment".to_owned()];
                    when.packages = subset(20);
                    unless = Some(Conditions {
                        agents: vec!["bodhi".to_owned(), format!("bot{i}")],
                        ..Conditions::default()
                    });
                }
                2 => {
                    let values = [
                        ("type".to_owned(), json!("BuildStateChange")),
                        ("name".to_owned(), json!(format!("other-{i}"))),
                    ];
                    when.headers = Some(HeaderMatch {
                        mode: MatchMode::All,
                        values: values.into_iter().collect(),
                    });
                }
                3 => {
                    when.topics = vec!["org.fedoraproject.*.copr.build.#".to_owned()];
                    when.body = vec![BodyPredicate {
                        equals: Some(json!(format!("owner{i}"))),
                        ..predicate("/owner")
                    }];
                }
                4 => {
                    when.kinds = vec!["anitya.project.version.update.v2".to_owned()];
                    when.packages = Names {
                        any: Vec::new(),
                        all: vec![watched(i), watched(i + 1)],
                    };
                }
                5 => {
                    when.sources = vec![svc.to_owned()];
                    when.severity_min = Some(40);
                }
                6 => {
                    // No topic: mentions and body are checked on every message.
                    when.packages = subset(50);
                    when.body = vec![BodyPredicate {
                        matches: Some(format!("^release-{i}\\.")),
                        ..predicate("/version")
                    }];
                    unless = Some(Conditions {
                        severity_min: Some(30),
                        ..Conditions::default()
                    });
                }
                _ => {
                    when.topics = vec![format!("#.{svc}.#"), format!("org.{svc}.*.{i}")];
                    when.users = Names::any_of([format!("user{i}")]);
                }
            }
            let mut r = RuleSpec::new(format!("user-{i:02}"), action, when);
            r.unless = unless;
            r
        })
        .collect()
}

struct Msg {
    topic: String,
    headers: FieldTable,
    mentions: Mentions,
    body: Option<Value>,
    source: &'static str,
    kind: &'static str,
    severity: u8,
    agent: Option<String>,
}

impl Msg {
    fn subject(&self) -> Subject<'_> {
        Subject {
            topic: &self.topic,
            headers: &self.headers,
            mentions: &self.mentions,
            body: self.body.as_ref(),
            source: self.source,
            kind: self.kind,
            severity: self.severity,
            agent: self.agent.as_deref(),
        }
    }
}

/// 50 messages: a fifth mention a watched package, a tenth mention "me".
fn subjects() -> Vec<Msg> {
    let shapes: [(&str, &str, &str); 10] = [
        (
            "org.fedoraproject.prod.buildsys.build.state.change",
            "koji",
            "buildsys.build.state.change",
        ),
        (
            "org.fedoraproject.prod.buildsys.task.state.change",
            "koji",
            "buildsys.task.state.change",
        ),
        (
            "org.fedoraproject.prod.buildsys.tag",
            "koji",
            "buildsys.tag",
        ),
        (
            "org.fedoraproject.prod.bodhi.update.comment",
            "bodhi",
            "bodhi.update.comment",
        ),
        (
            "org.fedoraproject.prod.bodhi.update.status.testing.koji-build-group.build.complete",
            "bodhi",
            "bodhi.update.status",
        ),
        (
            "org.release-monitoring.prod.anitya.project.version.update.v2",
            "anitya",
            "anitya.project.version.update.v2",
        ),
        (
            "org.fedoraproject.prod.copr.build.end",
            "copr",
            "copr.build.end",
        ),
        (
            "org.fedoraproject.prod.copr.build.start",
            "copr",
            "copr.build.start",
        ),
        (
            "org.fedoraproject.prod.pagure.pull-request.comment.added",
            "pagure",
            "pagure.pull-request.comment.added",
        ),
        (
            "org.fedoraproject.prod.ci.koji-build.test.complete",
            "generic",
            "ci.koji-build.test.complete",
        ),
    ];
    (0..50)
        .map(|i| {
            let (topic, source, kind) = shapes[i % shapes.len()];
            let package = if i % 5 == 0 {
                watched(i * 7)
            } else {
                format!("unwatched-{i}")
            };
            let user = if i % 10 == 3 {
                "spot".to_owned()
            } else {
                format!("packager{i}")
            };
            let mut headers = json!({
                "fedora_messaging_schema": format!("{source}.message"),
                "fedora_messaging_severity": if i % 7 == 0 { 30 } else { 20 },
                "sent-at": "2024-05-01T12:00:00+00:00",
                "priority": 0,
            });
            if let Some(h) = headers.as_object_mut() {
                h.insert(format!("fedora_messaging_rpm_{package}"), json!(true));
                h.insert(format!("fedora_messaging_user_{user}"), json!(true));
                h.insert("fedora_messaging_user_bodhi".to_owned(), json!(true));
            }
            let headers = headers_from_json(headers.as_object().expect("an object"));
            let mut users = vec![user.clone(), "bodhi".to_owned()];
            users.sort();
            Msg {
                topic: topic.to_owned(),
                headers,
                mentions: Mentions {
                    users,
                    packages: vec![package.clone()],
                    ..Mentions::default()
                },
                body: Some(json!({
                    "name": package,
                    "owner": user,
                    "version": format!("{}.{}", i / 10, i % 10),
                    "new": if i % 4 == 0 { 1 } else { 0 },
                    "build_id": 2_400_000 + i,
                    "comment": {"text": "Works for me", "karma": 1},
                })),
                source,
                kind,
                severity: if i % 7 == 0 { 30 } else { 20 },
                agent: Some(user),
            }
        })
        .collect()
}

fn evaluate(c: &mut Criterion) {
    let profile = profile();
    let rules: Vec<RuleSpec> = effective_rules(&profile, &user_rules(), &[])
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    let set = RuleSet::compile(&rules, &profile, Action::Drop).expect("the rules compile");
    assert_eq!(set.len(), 100);
    let msgs = subjects();
    let matched = msgs
        .iter()
        .filter(|m| set.evaluate(&m.subject()).rule.is_some())
        .count();
    assert!(
        matched > 0 && matched < msgs.len() / 2,
        "{matched} of {} matched",
        msgs.len()
    );

    let mut group = c.benchmark_group("rules");
    group.throughput(Throughput::Elements(msgs.len() as u64));
    group.bench_function("mix", |b| {
        b.iter(|| {
            for m in &msgs {
                black_box(set.evaluate(black_box(&m.subject())));
            }
        })
    });
    let worst = msgs
        .iter()
        .find(|m| set.evaluate(&m.subject()).rule.is_none())
        .expect("some message matches no rule");
    group.throughput(Throughput::Elements(1));
    group.bench_function("unmatched", |b| {
        b.iter(|| black_box(set.evaluate(black_box(&worst.subject()))))
    });
    group.finish();
}

/// A pattern of many `#`s against the longest routing key (255 bytes, 128 words) it does not
/// match: a backtracking matcher needs seconds here; the target is a few microseconds.
fn adversarial(c: &mut Criterion) {
    let pattern = Pattern::new("#.#.#.#.#.#.failed");
    let key = vec!["a"; 128].join(".");
    assert_eq!(key.len(), 255);
    assert!(!pattern.matches(&key));
    let mut group = c.benchmark_group("rules");
    group.throughput(Throughput::Elements(1));
    group.bench_function("hashes_long_key", |b| {
        b.iter(|| black_box(pattern.matches(black_box(&key))))
    });
    group.finish();
}

criterion_group!(benches, evaluate, adversarial);
criterion_main!(benches);
