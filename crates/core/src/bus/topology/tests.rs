//! The planner: narrowing by topics, header filters as hops and chains, and the fallbacks.
//! Rules are written as in `[[herald.rules]]`, one inline table each.

use super::{plan, Arguments, Destination, Plan, PlannedBinding, OWN_EXCHANGE_PREFIX};
use crate::config::{BindingSpec, Connection, ExchangeSpec};
use crate::filter::{Action, RuleSpec};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A connection with durable queue `q` and the `[exchanges]` and `bindings` of `text`.
fn conn(text: &str) -> Connection {
    #[derive(serde::Deserialize)]
    struct Parts {
        #[serde(default)]
        exchanges: BTreeMap<String, ExchangeSpec>,
        bindings: Vec<BindingSpec>,
    }
    let parts: Parts = toml::from_str(text).expect("connection parts");
    let mut c = Connection::fedora_public("default");
    c.queues = toml::from_str("q = { durable = true }").expect("queue");
    c.exchanges = parts.exchanges;
    c.bindings = parts.bindings;
    c
}

/// The Fedora default: `#` on `amq.topic`.
fn topic_conn() -> Connection {
    conn(r##"bindings = [{ queue = "q", exchange = "amq.topic", routing_keys = ["#"] }]"##)
}

/// `koji.events`, a headers exchange, bound with `args`.
fn headers_conn(args: &str) -> Connection {
    conn(&format!(
        "exchanges = {{ \"koji.events\" = {{ type = \"headers\" }} }}\n\
         bindings = [{{ queue = \"q\", exchange = \"koji.events\", arguments = {args} }}]"
    ))
}

fn rules(list: &str) -> Vec<RuleSpec> {
    #[derive(serde::Deserialize)]
    struct File {
        rule: Vec<RuleSpec>,
    }
    let file: File = toml::from_str(&format!("rule = [{list}]")).expect("rules");
    file.rule
}

/// The plan for `list` when unmatched messages are dropped, with own exchanges.
fn narrowed(c: &Connection, list: &str) -> Plan {
    plan(c, &rules(list), Action::Drop, true)
}

fn args(v: Value) -> Arguments {
    serde_json::from_value(v).expect("an object")
}

fn to_queue(source: &str, key: &str, a: Value) -> PlannedBinding {
    PlannedBinding {
        source: source.to_owned(),
        destination: Destination::Queue("q".to_owned()),
        routing_key: key.to_owned(),
        arguments: args(a),
    }
}

/// The routing keys bound straight from `amq.topic` to `q`.
fn direct_keys(p: &Plan) -> Vec<&str> {
    let q = Destination::Queue("q".into());
    p.bindings
        .iter()
        .filter(|b| b.source == "amq.topic" && b.destination == q)
        .map(|b| b.routing_key.as_str())
        .collect()
}

/// The header filters of the plan's chains, in binding order.
fn hops(p: &Plan) -> Vec<Arguments> {
    p.bindings
        .iter()
        .filter(|b| b.source.starts_with(OWN_EXCHANGE_PREFIX))
        .map(|b| b.arguments.clone())
        .collect()
}

fn noted(p: &Plan, words: &[&str]) -> bool {
    p.notes.iter().any(|n| words.iter().all(|w| n.contains(w)))
}

/// Follows bindings from `source` to the queue; panics if they do not get there.
fn walk(p: &Plan, source: &str) -> Vec<String> {
    let mut path = vec![source.to_owned()];
    for _ in 0..10 {
        let at = path.last().expect("a start");
        let next = p.bindings.iter().find(|b| b.source == *at);
        let next = next.unwrap_or_else(|| panic!("nothing bound from {at}: {p:#?}"));
        path.push(next.destination.name().to_owned());
        if let Destination::Queue(_) = next.destination {
            return path;
        }
    }
    panic!("chain too long: {p:#?}")
}

#[test]
fn default_binding_is_narrowed_to_the_rules_topics() {
    let p = narrowed(
        &topic_conn(),
        r#"{ id = "koji", topics = ["org.fedoraproject.*.buildsys.#"] },
           { id = "copr", action = "history", topics = ["org.fedoraproject.*.copr.build.end"] }"#,
    );
    let want = [
        "org.fedoraproject.*.buildsys.#",
        "org.fedoraproject.*.copr.build.end",
    ];
    assert_eq!(direct_keys(&p), want);
    assert_eq!(p.bindings.len(), 2);
    assert!(p.own_exchanges.is_empty());
    assert!(noted(&p, &["koji", "topics"]), "{:?}", p.notes);
}

#[test]
fn covered_patterns_are_dropped() {
    let p = narrowed(
        &topic_conn(),
        r#"{ id = "narrow", topics = ["a.b.c", "a.*"] },
           { id = "wide", topics = ["a.#"] },
           { id = "again", topics = ["a.b.c"] }"#,
    );
    assert_eq!(direct_keys(&p), ["a.#"]);
}

#[test]
fn configured_keys_bound_what_a_rule_can_get() {
    let prod = conn(
        r#"bindings = [{ queue = "q", exchange = "amq.topic", routing_keys = ["org.fedoraproject.prod.#"] }]"#,
    );
    let anitya = r#"{ id = "anitya", topics = ["org.release-monitoring.*.anitya.#"] }"#;
    let p = narrowed(&prod, anitya);
    assert!(p.bindings.is_empty(), "disjoint: nothing: {p:#?}");
    assert!(noted(&p, &["anitya", "none"]), "{:?}", p.notes);

    // The configured key covers the topic: the topic. The topic covers the key: the key.
    // They only overlap: the key (a superset; the client checks again).
    for (topic, want) in [
        ("org.fedoraproject.*.buildsys.#", "org.fedoraproject.prod.#"),
        (
            "org.fedoraproject.prod.bodhi.#",
            "org.fedoraproject.prod.bodhi.#",
        ),
        (
            "*.*.*.buildsys.build.state.change",
            "org.fedoraproject.prod.#",
        ),
    ] {
        let p = narrowed(
            &prod,
            &format!(r#"{{ id = "r", topics = ["{topic}"] }}, {anitya}"#),
        );
        assert_eq!(direct_keys(&p), [want], "{topic}");
    }
}

#[test]
fn names_any_become_one_any_hop_each() {
    let p = narrowed(
        &topic_conn(),
        r#"{ id = "r", topics = ["org.fedoraproject.*.buildsys.#"], users = ["spot", "alice"],
             packages = ["chromium"] }"#,
    );
    let user = json!({"x-match": "any", "fedora_messaging_user_alice": true,
                      "fedora_messaging_user_spot": true});
    let rpm = json!({"x-match": "any", "fedora_messaging_rpm_chromium": true});
    assert_eq!(hops(&p), [args(rpm), args(user)]);
    // amq.topic --key--> X1 --rpm--> X2 --user--> q
    let entry: Vec<_> = p
        .bindings
        .iter()
        .filter(|b| b.source == "amq.topic")
        .collect();
    assert_eq!(entry.len(), 1);
    assert_eq!(entry[0].routing_key, "org.fedoraproject.*.buildsys.#");
    let path = walk(&p, "amq.topic");
    assert_eq!(path.len(), 4, "{path:?}");
    let own: Vec<_> = p.own_exchanges.iter().map(|x| x.name.clone()).collect();
    assert_eq!(own, path[1..3], "own exchanges in chain order");
    assert!(p.own_exchanges.iter().all(|x| x.durable), "durable like q");
}

#[test]
fn names_all_and_header_values_become_one_all_hop() {
    let p = narrowed(
        &topic_conn(),
        r#"{ id = "all", users = { all = ["spot"] }, packages = { all = ["a", "b"] },
             headers = { match = "all", values = { type = "BuildStateChange", new = 1,
                                                   "x-match" = "any", list = [1, 2] } } }"#,
    );
    let all = json!({
        "x-match": "all",
        "fedora_messaging_user_spot": true,
        "fedora_messaging_rpm_a": true,
        "fedora_messaging_rpm_b": true,
        "type": "BuildStateChange",
        "new": 1,
    });
    assert_eq!(hops(&p), [args(all)]);
    assert!(noted(&p, &["list", "client-side"]), "{:?}", p.notes);
}

#[test]
fn header_match_any_is_a_hop_of_its_own() {
    let p = narrowed(
        &topic_conn(),
        r#"{ id = "r", users = ["spot"], headers = { match = "any", values = { name = "luci", tag = "t" } } }"#,
    );
    let user = json!({"x-match": "any", "fedora_messaging_user_spot": true});
    let any = json!({"x-match": "any", "name": "luci", "tag": "t"});
    assert_eq!(hops(&p), [args(user.clone()), args(any)]);
    // Leaving out one alternative of an any-of would narrow it: it stays client-side.
    let p = narrowed(
        &topic_conn(),
        r#"{ id = "r", users = ["spot"], headers = { match = "any", values = { name = "luci", tags = ["a"] } } }"#,
    );
    assert_eq!(hops(&p), [args(user)]);
}

#[test]
fn chains_are_named_deterministically_and_shared() {
    let list = r#"{ id = "one", topics = ["a.#", "b.#"], users = ["spot"], packages = ["chromium"] },
                  { id = "two", topics = ["b.#", "a.#"], packages = ["chromium"], users = ["spot"] }"#;
    let p = narrowed(&topic_conn(), list);
    assert_eq!(p, narrowed(&topic_conn(), list));
    assert_eq!(p.own_exchanges.len(), 2, "one chain: {p:#?}");
    // One entry binding per topic, one binding per hop.
    assert_eq!(p.bindings.len(), 4, "{p:#?}");
    for x in &p.own_exchanges {
        let hex = x
            .name
            .strip_prefix("herald.q.")
            .expect("herald.<queue>.<hex>");
        assert_eq!(hex.len(), 12);
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
    }
    let other = narrowed(
        &topic_conn(),
        r#"{ id = "three", topics = ["a.#"], users = ["adamw"], packages = ["chromium"] }"#,
    );
    assert!(other
        .own_exchanges
        .iter()
        .all(|x| !p.own_exchanges.contains(x)));

    // A very long queue name still gives a valid exchange name.
    let mut long = topic_conn();
    let name = "q".repeat(300);
    long.queues = BTreeMap::from([(name.clone(), long.queues["q"].clone())]);
    long.bindings[0].queue = name;
    let p = narrowed(&long, list);
    assert_eq!(p.own_exchanges.len(), 2);
    assert!(p.own_exchanges.iter().all(|x| x.name.len() <= 255));
}

#[test]
fn without_own_exchanges_header_filters_are_left_to_the_client() {
    let list = r#"{ id = "mine", topics = ["org.fedoraproject.*.buildsys.#"], users = ["spot"] }"#;
    let p = plan(&topic_conn(), &rules(list), Action::Drop, false);
    assert!(p.own_exchanges.is_empty());
    let want = to_queue("amq.topic", "org.fedoraproject.*.buildsys.#", json!({}));
    assert_eq!(p.bindings, [want]);
    assert!(noted(&p, &["mine", "client-side"]), "{:?}", p.notes);

    // On a headers exchange that lets everything through, the first filter still binds there.
    let both = rules(r#"{ id = "mine", users = ["spot"], packages = ["chromium"] }"#);
    let p = plan(
        &headers_conn(r#"{ "x-match" = "all" }"#),
        &both,
        Action::Drop,
        false,
    );
    let rpm = json!({"x-match": "any", "fedora_messaging_rpm_chromium": true});
    assert_eq!(p.bindings, [to_queue("koji.events", "", rpm)]);
}

#[test]
fn kept_unmatched_messages_keep_the_configured_bindings() {
    let mut c = conn(
        r##"bindings = [{ queue = "q", exchange = "amq.topic", routing_keys = ["a.#", "b.#"] }]"##,
    );
    c.bindings.push(c.bindings[0].clone());
    let spot = rules(r#"{ id = "r", users = ["spot"] }"#);
    let p = plan(&c, &spot, Action::History, true);
    let want = [
        to_queue("amq.topic", "a.#", json!({})),
        to_queue("amq.topic", "b.#", json!({})),
    ];
    assert_eq!(p.bindings, want);
    assert!(p.own_exchanges.is_empty());
    assert!(noted(&p, &["unchanged"]));

    let p = plan(
        &headers_conn(r#"{ "x-match" = "all" }"#),
        &spot,
        Action::Notify,
        true,
    );
    assert_eq!(
        p.bindings,
        [to_queue("koji.events", "", json!({"x-match": "all"}))]
    );
}

#[test]
fn headers_exchange_binds_a_single_filter_directly() {
    // Topics mean nothing on a headers exchange.
    let list = r#"{ id = "mine", topics = ["org.fedoraproject.#"], users = ["spot"] }"#;
    let user = json!({"x-match": "any", "fedora_messaging_user_spot": true});
    let p = narrowed(&headers_conn(r#"{ "x-match" = "all" }"#), list);
    assert!(p.own_exchanges.is_empty());
    assert_eq!(p.bindings, [to_queue("koji.events", "", user.clone())]);

    // The configured binding filters already: keep it, and chain the rule's filter after it.
    let p = narrowed(
        &headers_conn(r#"{ "x-match" = "all", type = "BuildStateChange" }"#),
        list,
    );
    assert_eq!(walk(&p, "koji.events").len(), 3, "{p:#?}");
    let entry = p.bindings.iter().find(|b| b.source == "koji.events");
    let configured = args(json!({"x-match": "all", "type": "BuildStateChange"}));
    assert_eq!(entry.map(|b| &b.arguments), Some(&configured));
    assert_eq!(hops(&p), [args(user)]);
}

#[test]
fn drop_rules_do_not_narrow() {
    let noise = r#"{ id = "noise", action = "drop", topics = ["a.#"] }"#;
    let p = narrowed(
        &topic_conn(),
        &format!(r#"{noise}, {{ id = "want", topics = ["b.#"] }}"#),
    );
    assert_eq!(direct_keys(&p), ["b.#"]);

    // Only drop rules (or disabled ones): nothing to narrow to, the configured binding stays.
    let p = narrowed(&topic_conn(), noise);
    assert_eq!(direct_keys(&p), ["#"]);
    assert!(noted(&p, &["no rule keeps"]));
    let off = narrowed(
        &topic_conn(),
        r#"{ id = "x", disabled = true, topics = ["b.#"] }"#,
    );
    assert_eq!(direct_keys(&off), ["#"]);
}

#[test]
fn a_rule_without_conditions_makes_filters_moot() {
    let p = narrowed(
        &topic_conn(),
        r#"{ id = "mine", users = ["spot"] }, { id = "everything", action = "history" }"#,
    );
    assert_eq!(p.bindings, [to_queue("amq.topic", "#", json!({}))]);
    assert!(p.own_exchanges.is_empty());
    assert!(noted(&p, &["mine", "not needed"]), "{:?}", p.notes);
}

#[test]
fn other_exchange_kinds_keep_their_binding() {
    let fanout = conn(
        r#"exchanges = { events = { type = "fanout" } }
           bindings = [{ queue = "q", exchange = "events" }]"#,
    );
    let p = narrowed(&fanout, r#"{ id = "r", users = ["spot"] }"#);
    assert_eq!(p.bindings, [to_queue("events", "", json!({}))]);
    assert!(p.own_exchanges.is_empty());
}

#[test]
fn chains_with_the_same_filters_merge() {
    let p = narrowed(
        &topic_conn(),
        r#"{ id = "koji", topics = ["a.b.#"], users = ["spot"] },
           { id = "copr", topics = ["c.#"], users = ["spot"] },
           { id = "copr-end", topics = ["c.end"], users = ["spot"] },
           { id = "all-a", topics = ["a.#"] }"#,
    );
    assert_eq!(p.own_exchanges.len(), 1, "{p:#?}");
    let x = &p.own_exchanges[0].name;
    let into_chain: Vec<_> = p
        .bindings
        .iter()
        .filter(|b| b.destination == Destination::Exchange(x.clone()))
        .map(|b| b.routing_key.as_str())
        .collect();
    // `a.b.#` comes through `all-a`'s direct binding already; `c.end` through `c.#`.
    assert_eq!(into_chain, ["c.#"]);
    assert_eq!(direct_keys(&p), ["a.#"]);
}
