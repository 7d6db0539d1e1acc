//! Deliveries that RabbitMQ accepts and routes but a strict AMQP decoder cannot read: short
//! strings that are not UTF-8 (routing key, header names at any depth, message id and the
//! other short-string properties) and header tables nested thousands of levels deep. Each is
//! published between good messages to a durable queue; Herald must drain the queue, store
//! or quarantine every delivery, and never abort.

use herald_core::history::HistoryStore;
use herald_core::sources::RenderContext;
use herald_e2e::herald::{output_text, rabbitmqctl, TopicWorld};
use herald_e2e::poison::{
    nested_arrays, nested_tables, RawMessage, RawProps, RawPublisher, Table, Value,
};

fn message(routing_key: &[u8], props: RawProps, headers: Option<Vec<u8>>) -> RawMessage {
    RawMessage {
        exchange: b"amq.topic".to_vec(),
        routing_key: routing_key.to_vec(),
        props: RawProps {
            content_type: props
                .content_type
                .clone()
                .or(Some(b"application/json".to_vec())),
            delivery_mode: Some(2),
            ..props
        },
        headers,
        body: br#"{"hello": "world"}"#.to_vec(),
    }
}

fn id(bytes: &[u8]) -> RawProps {
    RawProps {
        message_id: Some(bytes.to_vec()),
        ..RawProps::default()
    }
}

/// The poison cases, each with a message id Herald will store it under.
fn poison() -> Vec<(&'static str, RawMessage)> {
    vec![
        (
            "bad routing key",
            message(b"org.test.bad.\xff\xfe", id(b"p-routing"), None),
        ),
        (
            "bad header name",
            message(
                b"org.test.p",
                id(b"p-header"),
                Some(
                    Table::new()
                        .entry(b"k-\xff", Value::LongStr(b"v".to_vec()))
                        .into_payload(),
                ),
            ),
        ),
        (
            "bad nested header name",
            message(
                b"org.test.p",
                id(b"p-nested-name"),
                Some(
                    Table::new()
                        .entry(
                            b"outer",
                            Value::Table(Table::new().entry(b"in-\xfe", Value::Bool(true))),
                        )
                        .into_payload(),
                ),
            ),
        ),
        (
            "bad message id",
            message(b"org.test.p", id(b"p-id-\xff"), None),
        ),
        (
            "bad short-string properties",
            message(
                b"org.test.p",
                RawProps {
                    message_id: Some(b"p-props".to_vec()),
                    content_type: Some(b"application/\xffjson".to_vec()),
                    content_encoding: Some(b"utf-\xff".to_vec()),
                    correlation_id: Some(b"c-\xfe".to_vec()),
                    reply_to: Some(b"r-\xfd".to_vec()),
                    kind: Some(b"t-\xfc".to_vec()),
                    app_id: Some(b"a-\xfb".to_vec()),
                    ..RawProps::default()
                },
                None,
            ),
        ),
        (
            "arrays 5,000 deep",
            message(b"org.test.p", id(b"p-arrays"), Some(nested_arrays(5_000))),
        ),
        (
            "tables 5,000 deep",
            message(b"org.test.p", id(b"p-tables"), Some(nested_tables(5_000))),
        ),
    ]
}

#[test]
fn poison_between_good_messages_is_all_stored_and_herald_keeps_running() {
    let world = TopicWorld::new("herald-poison", "");
    world.dir.declare();
    let cases = poison();
    let mut publisher = RawPublisher::connect(&world.vhost.name).expect("raw publisher");
    let good = |n: usize| {
        message(
            format!("org.test.good.{n}").as_bytes(),
            id(format!("good-{n}").as_bytes()),
            None,
        )
    };
    publisher.publish(&good(0)).expect("publish good");
    for (n, (what, m)) in cases.iter().enumerate() {
        publisher
            .publish(m)
            .unwrap_or_else(|e| panic!("the broker refused {what}: {e}"));
        publisher.publish(&good(n + 1)).expect("publish good");
    }
    publisher.close().expect("close publisher");
    let published = 2 * cases.len() + 1;

    // Twice: a delivery that killed the first run would come back first in the second.
    for _ in 0..2 {
        let mut child = world
            .dir
            .command(&["run", "--until-idle", "3", "--no-notify"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start herald");
        // A decoder that drops the connection on a poison frame never goes idle: bound it.
        let start = std::time::Instant::now();
        while child.try_wait().expect("wait").is_none() {
            if start.elapsed() > std::time::Duration::from_secs(120) {
                let _ = child.kill();
                let out = child.wait_with_output().expect("killed");
                panic!(
                    "herald did not drain the queue in 120 s: {}",
                    output_text(&out)
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let out = child.wait_with_output().expect("herald exits");
        assert!(out.status.success(), "herald run: {}", output_text(&out));
    }

    let queues = rabbitmqctl(&["list_queues", "-p", &world.vhost.name, "name", "messages"]);
    let depths: Vec<u64> = queues
        .lines()
        .filter_map(|l| l.split_whitespace().last()?.parse().ok())
        .collect();
    assert!(
        !depths.is_empty() && depths.iter().all(|&n| n == 0),
        "the queue is drained: {queues}"
    );

    world.rt.block_on(async {
        let store = HistoryStore::open(&world.dir.db(), &RenderContext::default())
            .await
            .expect("open history");
        let stats = store.stats(1).await.expect("stats");
        assert_eq!(
            stats.messages + stats.quarantined,
            published as i64,
            "every delivery stored or quarantined"
        );
        for n in 0..=cases.len() {
            assert!(
                store
                    .get(&format!("good-{n}"))
                    .await
                    .expect("get")
                    .is_some(),
                "good-{n} stored"
            );
        }
        let problems = |id: &'static str| {
            let store = store.clone();
            async move {
                store
                    .get(id)
                    .await
                    .expect("get")
                    .unwrap_or_else(|| panic!("{id} stored"))
                    .problems
                    .join("; ")
            }
        };
        assert!(problems("p-routing")
            .await
            .contains("routing_key is not valid UTF-8"));
        assert!(problems("p-header")
            .await
            .contains("header name(s) are not valid UTF-8"));
        assert!(problems("p-nested-name")
            .await
            .contains("header name(s) are not valid UTF-8"));
        assert!(problems("p-id-\\xff")
            .await
            .contains("message_id is not valid UTF-8"));
        let props = problems("p-props").await;
        for f in [
            "content_type",
            "correlation_id",
            "reply_to",
            "type",
            "app_id",
        ] {
            assert!(
                props.contains(&format!("{f} is not valid UTF-8")),
                "{f}: {props}"
            );
        }
        assert!(problems("p-arrays").await.contains("nest deeper than 64"));
        assert!(problems("p-tables").await.contains("nest deeper than 64"));
    });

    // The stored header table is the one that was sent, byte for byte: `show` reads it back.
    let out = world.dir.run(&["show", "p-tables"]);
    assert!(out.status.success(), "show: {}", output_text(&out));
    assert!(
        output_text(&out).contains("$unparsed"),
        "{}",
        output_text(&out)
    );
}
