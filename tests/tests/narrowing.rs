//! End to end against the real RabbitMQ: the bindings Herald plans from the rules
//! (`topology::setup`) let through exactly what the rules' server-side predicates — topics
//! and `fedora_messaging_<kind>_<name>` mentions — select, from a topic exchange and from a
//! headers exchange; a broker that refuses Herald's own exchanges still delivers everything
//! the rules want; and `topology::rebind` switches rules under a steady stream of messages
//! without losing or duplicating one.

use futures_util::StreamExt;
use herald_core::bus::topology::{self, Applied, Plan};
use herald_core::config::{Config, Connection};
use herald_core::filter::{Action, Pattern, RuleSpec};
use herald_core::message::{headers_from_json, Properties};
use herald_e2e::broker::{unique, wait_for_system_broker};
use herald_e2e::herald::{all_fixtures, confirm_channel, publish_raw, rabbitmqctl, Vhost};
use lapin::options::{BasicConsumeOptions, BasicGetOptions};
use lapin::types::FieldTable;
use lapin::{Channel, ConnectionProperties};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOPIC_QUEUE: &str = "narrow-topic";
const HEADERS_QUEUE: &str = "narrow-headers";
const HEADERS_EXCHANGE: &str = "koji.events";

/// The rule sets under test, as written in the config. Every predicate in them is one the
/// broker can check (topics and mentions), except the profile's default rules, whose body
/// and skip-own conditions are client-side.
const RULE_SETS: &[(&str, &str)] = &[
    (
        "user",
        r#"rules = [
  { id = "no-copr", action = "drop", priority = 10, topics = ["org.fedoraproject.*.copr.#"] },
  { id = "spot-builds", topics = ["org.fedoraproject.*.buildsys.#"], users = ["spot"] },
  { id = "alice", action = "history", users = ["alice"] },
]"#,
    ),
    (
        "packages",
        r#"rules = [{ id = "watched", packages = ["chromium", "python-requests", "pg-semver", "flatpak", "glibc"] }]"#,
    ),
    ("group", r#"rules = [{ id = "kde", groups = ["kde"] }]"#),
    ("user and package", SPOT_AND_CHROMIUM),
    (
        "profile",
        r#"profile = { users = ["spot"], packages = ["chromium", "python-requests"], groups = ["kde"] }"#,
    ),
];

/// A user AND a package: two header filters in a chain.
const SPOT_AND_CHROMIUM: &str = r##"rules = [{ id = "spot-chromium", topics = ["org.fedoraproject.#"],
  users = ["spot", "alice"], packages = ["chromium", "python-foo"] }]"##;

/// A fedora-messaging config with one queue on `amq.topic` (`#`) and one on a headers
/// exchange (everything), as `config_for` writes them, and `herald` as its `[herald]` table.
fn config(url: &str, herald: &str) -> Config {
    let text = format!(
        r##"amqp_url = "{url}"
[exchanges."{HEADERS_EXCHANGE}"]
type = "headers"
[queues."{TOPIC_QUEUE}"]
durable = true
[queues."{HEADERS_QUEUE}"]
durable = false
[[bindings]]
queue = "{TOPIC_QUEUE}"
exchange = "amq.topic"
routing_keys = ["#"]
[[bindings]]
queue = "{HEADERS_QUEUE}"
exchange = "{HEADERS_EXCHANGE}"
arguments = {{ "x-match" = "all" }}
[herald]
{herald}
"##
    );
    Config::from_toml(&text, Path::new("narrowing.toml")).expect("valid config")
}

/// The connection and the rules in force on it; unmatched messages are dropped.
fn connection_and_rules(url: &str, herald: &str) -> (Connection, Vec<RuleSpec>) {
    let cfg = config(url, herald);
    assert_eq!(cfg.unmatched(), Action::Drop, "rules narrow");
    let conn = cfg.primary().clone();
    let rules = cfg.rules_for(&conn.name);
    (conn, rules)
}

/// One message to publish, named by its `message_id`.
#[derive(Debug, Clone)]
struct Item {
    id: String,
    topic: String,
    headers: Option<Map<String, Value>>,
    body: Vec<u8>,
    properties: Properties,
}

/// Every fixture of both corpora (by file name) and a few messages no fixture has: about groups,
/// with mention headers set to `false`, with the package but another user.
fn corpus() -> Vec<Item> {
    let mut items: Vec<Item> = all_fixtures()
        .into_iter()
        .map(|(path, f)| {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            Item {
                id: name.expect("a fixture file name"),
                topic: f.topic.clone(),
                headers: f.headers.clone(),
                body: f.body_bytes().expect("fixture body"),
                properties: f.properties.clone(),
            }
        })
        .collect();
    let (fas, koji) = (
        "org.fedoraproject.prod.fas.group.member.sponsor",
        "org.fedoraproject.prod.buildsys.build.state.change",
    );
    let synthetic = [
        (
            "group-kde-spot",
            fas,
            json!({"group_kde": true, "user_spot": true}),
        ),
        ("group-infra", fas, json!({"group_infra": true})),
        (
            "spot-is-false",
            koji,
            json!({"user_spot": false, "rpm_chromium": false}),
        ),
        (
            "chromium-by-bob",
            koji,
            json!({"user_bob": true, "rpm_chromium": true}),
        ),
        (
            "copr-spot-chromium",
            "org.fedoraproject.prod.copr.build.end",
            json!({"user_spot": true, "rpm_chromium": true}),
        ),
    ];
    for (id, topic, mentions) in synthetic {
        let headers = mentions.as_object().expect("object").iter();
        let headers = headers.map(|(k, v)| (format!("fedora_messaging_{k}"), v.clone()));
        items.push(Item {
            id: format!("synthetic-{id}"),
            topic: topic.to_owned(),
            headers: Some(headers.collect()),
            body: br#"{"synthetic": true}"#.to_vec(),
            properties: Properties::default(),
        });
    }
    let ids: BTreeSet<&str> = items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids.len(), items.len(), "message ids are unique");
    assert!(items.len() >= 90, "corpus has {} messages", items.len());
    items
}

/// What the broker can decide of `rule` for `item`: its topics (on a topic exchange) and
/// its mentions. Everything else in a rule is checked by the client.
fn server_side_selects(rule: &RuleSpec, item: &Item, topic_exchange: bool) -> bool {
    let c = &rule.when;
    let topic = !topic_exchange
        || c.topics.is_empty()
        || c.topics
            .iter()
            .any(|t| Pattern::new(t).matches(&item.topic));
    let mentioned = |kind: &str, name: &String| {
        let header = format!("fedora_messaging_{kind}_{name}");
        item.headers.as_ref().and_then(|h| h.get(&header)) == Some(&Value::Bool(true))
    };
    let names = [
        ("user", &c.users),
        ("group", &c.groups),
        ("rpm", &c.packages),
        ("container", &c.containers),
        ("module", &c.modules),
        ("flatpak", &c.flatpaks),
    ];
    topic
        && names.into_iter().all(|(kind, n)| {
            (n.any.is_empty() || n.any.iter().any(|x| mentioned(kind, x)))
                && n.all.iter().all(|x| mentioned(kind, x))
        })
}

fn expected(rules: &[RuleSpec], items: &[Item], topic_exchange: bool) -> BTreeSet<String> {
    let keeps = |i: &Item| {
        let mut kept = rules.iter().filter(|r| r.action.keeps());
        kept.any(|r| server_side_selects(r, i, topic_exchange))
    };
    items
        .iter()
        .filter(|i| keeps(i))
        .map(|i| i.id.clone())
        .collect()
}

async fn publish(ch: &Channel, exchange: &str, item: &Item) {
    let mut props = item.properties.clone();
    props.message_id = Some(item.id.clone());
    let headers: Option<FieldTable> = item.headers.as_ref().map(headers_from_json);
    let props = props.to_amqp(headers);
    publish_raw(ch, exchange, &item.topic, &item.body, props).await;
}

fn message_id(d: &lapin::message::Delivery) -> String {
    let id = d.properties.message_id().as_ref();
    id.map(|s| s.as_str().to_owned())
        .expect("every message has an id")
}

/// Every message in `queue`, by id; fails on a duplicate.
async fn drain(ch: &Channel, queue: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let get = || ch.basic_get(queue.into(), BasicGetOptions { no_ack: true });
    while let Some(m) = get().await.expect("basic.get") {
        let id = message_id(&m.delivery);
        assert!(ids.insert(id.clone()), "{id} delivered twice to {queue}");
    }
    ids
}

/// Publishes the corpus to both exchanges; returns what each queue got.
async fn deliver(vhost: &Vhost, applied: &Applied, items: &[Item]) -> [BTreeSet<String>; 2] {
    let conn = vhost.connect().await;
    let ch = confirm_channel(&conn).await;
    for item in items {
        publish(&ch, "amq.topic", item).await;
        publish(&ch, HEADERS_EXCHANGE, item).await;
    }
    let _ = conn.close(200, "published".into()).await;
    [
        drain(&applied.channel, TOPIC_QUEUE).await,
        drain(&applied.channel, HEADERS_QUEUE).await,
    ]
}

/// Herald's own exchanges and every binding (source, destination, routing key) in a vhost.
#[derive(Debug, PartialEq, Eq)]
struct Topology {
    own: BTreeSet<String>,
    bindings: BTreeSet<(String, String, String)>,
}

impl Topology {
    /// As the broker lists it (without the default exchange's bindings).
    fn on_broker(vhost: &str) -> Topology {
        let list = |what: &[&str]| {
            let mut args = vec!["--no-table-headers", what[0], "-p", vhost];
            args.extend(&what[1..]);
            rabbitmqctl(&args)
        };
        let own = list(&["list_exchanges", "name"]);
        let own = own.lines().map(str::trim);
        let bindings = list(&[
            "list_bindings",
            "source_name",
            "destination_name",
            "routing_key",
        ]);
        let bindings = bindings.lines().filter_map(|l| {
            let mut cols = l.split('\t').map(str::to_owned);
            let (s, d, k) = (cols.next()?, cols.next()?, cols.next().unwrap_or_default());
            (!s.is_empty()).then_some((s, d, k))
        });
        Topology {
            own: own
                .filter(|n| n.starts_with(topology::OWN_EXCHANGE_PREFIX))
                .map(str::to_owned)
                .collect(),
            bindings: bindings.collect(),
        }
    }

    fn planned(p: &Plan) -> Topology {
        let route = |b: &topology::PlannedBinding| {
            let dest = b.destination.name().to_owned();
            (b.source.clone(), dest, b.routing_key.clone())
        };
        Topology {
            own: p.own_exchanges.iter().map(|x| x.name.clone()).collect(),
            bindings: p.bindings.iter().map(route).collect(),
        }
    }
}

fn assert_same(case: &str, queue: &str, got: &BTreeSet<String>, want: &BTreeSet<String>) {
    let show = |s: BTreeSet<&String>| s.into_iter().cloned().collect::<Vec<_>>().join("\n  ");
    let (extra, missing) = (got.difference(want), want.difference(got));
    let (extra, missing) = (show(extra.collect()), show(missing.collect()));
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{case} / {queue}: delivered {} of {} expected\nnot wanted but delivered:\n  {extra}\n\
         wanted but missing:\n  {missing}",
        got.len(),
        want.len(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn narrowed_bindings_deliver_exactly_what_the_rules_select() {
    wait_for_system_broker().await;
    let items = corpus();
    for (case, herald) in RULE_SETS {
        let vhost = Vhost::new();
        let (conn, rules) = connection_and_rules(&vhost.url(), herald);
        let amqp = vhost.connect().await;
        let applied = topology::setup(&amqp, &conn, &rules, Action::Drop)
            .await
            .unwrap_or_else(|e| panic!("{case}: setup: {e:?}"));
        assert!(applied.server_side_headers, "{case}");
        assert_eq!(applied.queues, [HEADERS_QUEUE, TOPIC_QUEUE], "{case}");
        // What is bound is what was planned.
        let p = &applied.plan;
        assert_eq!(
            Topology::on_broker(&vhost.name),
            Topology::planned(p),
            "{case}: {p:#?}"
        );
        if *case == "user and package" {
            // amq.topic → X1 → X2 → queue; koji.events → X → queue.
            assert_eq!(p.own_exchanges.len(), 3, "{case}: {p:#?}");
        }

        let [topic, headers] = deliver(&vhost, &applied, &items).await;
        let want_topic = expected(&rules, &items, true);
        assert!(
            !want_topic.is_empty(),
            "{case}: the corpus has something to select"
        );
        assert!(want_topic.len() < items.len(), "{case}: the rules narrow");
        assert_same(case, TOPIC_QUEUE, &topic, &want_topic);
        assert_same(
            case,
            HEADERS_QUEUE,
            &headers,
            &expected(&rules, &items, false),
        );
        let _ = amqp.close(200, "done".into()).await;
    }
}

/// A vhost user who may not configure `herald.*` exchanges; deleted on drop.
#[derive(Debug)]
struct RestrictedUser {
    name: String,
    url: String,
}

impl RestrictedUser {
    fn new(vhost: &Vhost) -> RestrictedUser {
        let (name, password) = (unique("herald-restricted"), unique("pw"));
        rabbitmqctl(&["add_user", &name, &password]);
        let no_herald = r"^(?!herald\.).*";
        rabbitmqctl(&[
            "set_permissions",
            "-p",
            &vhost.name,
            &name,
            no_herald,
            ".*",
            ".*",
        ]);
        let url = format!("amqp://{name}:{password}@127.0.0.1:5672/{}", vhost.name);
        RestrictedUser { name, url }
    }
}

impl Drop for RestrictedUser {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .args(["-q", "delete_user", &self.name])
            .output();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_own_exchanges_fall_back_to_client_side_headers() {
    wait_for_system_broker().await;
    let items = corpus();
    let vhost = Vhost::new();
    let user = RestrictedUser::new(&vhost);
    let (conn, rules) = connection_and_rules(&user.url, SPOT_AND_CHROMIUM);
    let amqp = lapin::Connection::connect(&user.url, ConnectionProperties::default())
        .await
        .expect("connect as the restricted user");

    // With own exchanges this rule needs chains; the broker refuses them.
    assert!(topology::plan(&conn, &rules, Action::Drop, true).needs_own_exchanges());
    let applied = topology::setup(&amqp, &conn, &rules, Action::Drop)
        .await
        .expect("setup falls back instead of failing");
    let p = &applied.plan;
    assert!(!applied.server_side_headers);
    assert!(!p.needs_own_exchanges(), "{p:#?}");
    assert!(
        p.notes.iter().any(|n| n.contains("client-side")),
        "{:?}",
        p.notes
    );
    assert_eq!(Topology::on_broker(&vhost.name), Topology::planned(p));
    let again = applied.replan(&conn, &rules, Action::Drop);
    assert!(
        !again.needs_own_exchanges(),
        "replans keep to what the broker allows"
    );

    let [topic, headers] = deliver(&vhost, &applied, &items).await;
    for (queue, got, topic_exchange) in [
        (TOPIC_QUEUE, &topic, true),
        (HEADERS_QUEUE, &headers, false),
    ] {
        let want = expected(&rules, &items, topic_exchange);
        let missing: Vec<_> = want.difference(got).collect();
        assert!(missing.is_empty(), "{queue}: missing {missing:?}");
        assert!(
            got.len() > want.len(),
            "{queue}: without all header filters the broker sends more ({} vs {})",
            got.len(),
            want.len()
        );
    }
    // The topic still narrows server-side.
    let fedora = Pattern::new("org.fedoraproject.#");
    let by_topic = items.iter().filter(|i| fedora.matches(&i.topic));
    assert_same(
        "fallback",
        TOPIC_QUEUE,
        &topic,
        &by_topic.map(|i| i.id.clone()).collect(),
    );
    let _ = amqp.close(200, "done".into()).await;
}

const STREAM: usize = 2000;
const BUILD_TOPIC: &str = "org.fedoraproject.prod.buildsys.build.state.change";

async fn publish_mentions(ch: &Channel, id: &str, mentions: &Value) {
    let headers = headers_from_json(mentions.as_object().expect("object"));
    let props = Properties {
        message_id: Some(id.to_owned()),
        ..Properties::default()
    };
    let props = props.to_amqp(Some(headers));
    publish_raw(ch, "amq.topic", BUILD_TOPIC, b"{}", props).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rebinding_under_a_steady_stream_loses_and_duplicates_nothing() {
    wait_for_system_broker().await;
    let vhost = Vhost::new();
    let old = r#"rules = [{ id = "spot-builds", topics = ["org.fedoraproject.*.buildsys.#"], users = ["spot"] }]"#;
    let (conn, old_rules) = connection_and_rules(&vhost.url(), old);
    let new = SPOT_AND_CHROMIUM.replace("org.fedoraproject.#", BUILD_TOPIC);
    let (_, new_rules) = connection_and_rules(&vhost.url(), &new);
    let amqp = vhost.connect().await;
    let applied = topology::setup(&amqp, &conn, &old_rules, Action::Drop)
        .await
        .expect("setup");
    let new_plan = applied.replan(&conn, &new_rules, Action::Drop);
    let (before, after) = (
        Topology::planned(&applied.plan),
        Topology::planned(&new_plan),
    );
    assert!(!before.own.is_empty() && !after.own.is_empty());
    assert!(before.own.is_disjoint(&after.own), "entirely new chains");

    // The consumer lives on the topology's channel, as in the pipeline.
    let options = BasicConsumeOptions {
        no_ack: true,
        ..BasicConsumeOptions::default()
    };
    let (queue, tag) = (TOPIC_QUEUE.into(), "narrowing".into());
    let consume = applied
        .channel
        .basic_consume(queue, tag, options, FieldTable::default());
    let mut consumer = consume.await.expect("consume");
    let seen = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
    let received = Arc::new(AtomicUsize::new(0));
    let consuming = {
        let (seen, received) = (seen.clone(), received.clone());
        tokio::spawn(async move {
            while let Some(d) = consumer.next().await {
                let id = message_id(&d.expect("delivery"));
                *seen.lock().expect("lock").entry(id).or_default() += 1;
                received.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let both = json!({"fedora_messaging_user_spot": true, "fedora_messaging_rpm_chromium": true});
    let published = Arc::new(AtomicUsize::new(0));
    let publishing = {
        let (published, both) = (published.clone(), both.clone());
        let publisher = vhost.connect().await;
        tokio::spawn(async move {
            let ch = confirm_channel(&publisher).await;
            let mut tick = tokio::time::interval(Duration::from_millis(2));
            for n in 0..STREAM {
                tick.tick().await;
                publish_mentions(&ch, &format!("m{n}"), &both).await;
                published.fetch_add(1, Ordering::SeqCst);
            }
            let _ = publisher.close(200, "published".into()).await;
        })
    };

    while published.load(Ordering::SeqCst) < STREAM / 2 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    topology::rebind(&applied.channel, &applied.plan, &new_plan)
        .await
        .expect("rebind");
    let sent = published.load(Ordering::SeqCst);
    assert!(
        sent < STREAM,
        "the stream still flowed after the rebind ({sent})"
    );
    assert_eq!(Topology::on_broker(&vhost.name), after, "old chain deleted");

    publishing.await.expect("publisher");
    let wait_for = |n: usize, secs: u64| {
        let received = received.clone();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
            while received.load(Ordering::SeqCst) < n && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // Time for a duplicate to show up, if there were one.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    wait_for(STREAM, 20).await;
    {
        let seen = seen.lock().expect("lock");
        let ids = (0..STREAM).map(|n| format!("m{n}"));
        let missing: Vec<String> = ids.filter(|id| !seen.contains_key(id)).collect();
        let twice: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
        assert!(
            missing.is_empty(),
            "lost {} messages: {missing:?}",
            missing.len()
        );
        assert!(twice.is_empty(), "delivered more than once: {twice:?}");
        assert_eq!(received.load(Ordering::SeqCst), STREAM);
    }

    // The new chain is what delivers now: without the package, a message stays out.
    let ch = confirm_channel(&amqp).await;
    publish_mentions(
        &ch,
        "spot-only",
        &json!({"fedora_messaging_user_spot": true}),
    )
    .await;
    publish_mentions(&ch, "spot-chromium", &both).await;
    wait_for(STREAM + 1, 10).await;
    {
        let seen = seen.lock().expect("lock");
        assert_eq!(seen.get("spot-chromium"), Some(&1));
        assert_eq!(seen.get("spot-only"), None);
        assert_eq!(received.load(Ordering::SeqCst), STREAM + 1);
    }
    consuming.abort();

    // And back: a two-filter chain goes as cleanly.
    topology::rebind(&applied.channel, &new_plan, &applied.plan)
        .await
        .expect("rebind back");
    assert_eq!(Topology::on_broker(&vhost.name), before);
    let _ = amqp.close(200, "done".into()).await;
}
