//! Proves the bus archive harness against the real datagrepper before Herald code relies on
//! it: 150 messages sent within one second page as 100 + 50, datagrepper's `end` is
//! inclusive, and a stored message comes back with the headers it was published with.

use std::collections::BTreeSet;

use herald_e2e::archive::{self, Archive};
use serde_json::{json, Value};
use time::macros::datetime;
use time::Duration;

const TOPIC: &str = "org.fedoraproject.prod.bodhi.update.comment";

fn ids(page: &Value) -> Vec<String> {
    page["raw_messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no raw_messages in {page}"))
        .iter()
        .map(|m| m["id"].as_str().expect("a message id").to_owned())
        .collect()
}

#[test]
fn a_busy_second_pages_by_100_and_round_trips_its_headers() {
    let archive = Archive::start();
    let second = datetime!(2026-12-07 04:52:58 UTC);
    let mut messages: Vec<Value> = (0..150)
        .map(|i| {
            archive::message(
                &format!("burst-{i:03}"),
                TOPIC,
                second,
                json!({ "n": i }),
                &[("fedora_messaging_user_alice", json!(true))],
            )
        })
        .collect();
    for (id, at) in [
        ("before", second - Duration::seconds(1)),
        ("after", second + Duration::seconds(1)),
        ("later", second + Duration::minutes(1)),
    ] {
        messages.push(archive::message(id, TOPIC, at, json!({}), &[]));
    }
    assert_eq!(archive.load(&messages), 153, "every message stored");

    let t = second.unix_timestamp();
    let search = |end: i64, page: u32| {
        archive.get_json(&format!(
            "v2/search?start={t}&end={end}&order=asc&rows_per_page=100&page={page}"
        ))
    };
    // Timestamps are whole seconds and both bounds are inclusive: start=end=t is that second.
    let first = search(t, 1);
    assert_eq!(first["total"], 150, "{}", first["arguments"]);
    assert_eq!(first["pages"], 2);
    assert_eq!(first["count"], 100);
    let second_page = search(t, 2);
    assert_eq!(second_page["total"], 150);
    assert_eq!(second_page["count"], 50);
    let seen: BTreeSet<String> = ids(&first).into_iter().chain(ids(&second_page)).collect();
    let expected: BTreeSet<String> = (0..150).map(|i| format!("burst-{i:03}")).collect();
    assert_eq!(seen, expected, "the two pages hold each message once");

    let through_next = search(t + 1, 1);
    assert_eq!(
        through_next["total"], 151,
        "end=t+1 takes in the message sent at t+1"
    );

    let by_user = archive.get_json(&format!("v2/search?start={t}&end={t}&user=alice"));
    assert_eq!(by_user["total"], 150, "users come from the filter headers");

    let one = archive.get_json("v2/id?id=burst-007");
    assert_eq!(one["id"], "burst-007");
    assert_eq!(one["topic"], TOPIC);
    assert_eq!(one["body"], json!({ "n": 7 }));
    assert_eq!(one["headers"], messages[7]["headers"]);
    assert_eq!(one["headers"]["sent-at"], "2026-12-07T04:52:58+00:00");

    let too_many = archive.get(&format!("v2/search?start={t}&end={t}&rows_per_page=101"));
    assert_eq!(too_many.status, 400, "{}", too_many.body);
    assert!(too_many.body.contains("rows_per_page must be &lt;= 100"));
}
