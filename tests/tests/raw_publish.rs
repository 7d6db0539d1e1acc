//! The raw publisher (`herald_e2e::poison`) against the real broker. Before it is trusted to
//! send malformed messages it must send valid ones exactly: what it publishes, lapin reads
//! back byte for byte — routing key, message id, nested headers, a body spanning several
//! frames. And a publish the broker refuses must fail with the broker's reason, not hang.

use std::time::{Duration, Instant};

use herald_e2e::broker::wait_for_system_broker;
use herald_e2e::herald::Vhost;
use herald_e2e::poison::{
    nested_arrays, nested_tables, RawMessage, RawProps, RawPublisher, Table, Value,
};
use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldArray, FieldTable, LongString};

const QUEUE: &str = "raw-publish";

fn long_str(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s.as_bytes().to_vec()))
}

fn table(entries: Vec<(&str, AMQPValue)>) -> FieldTable {
    let mut t = FieldTable::default();
    for (k, v) in entries {
        t.insert(k.into(), v);
    }
    t
}

/// Three valid messages, each with its headers as lapin should decode them.
fn messages() -> Vec<(RawMessage, FieldTable)> {
    // Not a multiple of anything a frame size would be, so the last body frame is partial.
    let body: Vec<u8> = (0..300 * 1024 + 7).map(|i| (i % 251) as u8).collect();
    let built = Table::new()
        .entry("source", Value::LongStr(b"raw".to_vec()))
        .entry("ok", Value::Bool(true))
        .entry("count", Value::LongLong(-42))
        .entry(
            "nested",
            Value::Table(Table::new().entry(
                "list",
                Value::Array(vec![
                    Value::Table(Table::new().entry("leaf", Value::LongStr(b"bottom".to_vec()))),
                    Value::LongLong(7),
                ]),
            )),
        );
    let built_expected = table(vec![
        ("source", long_str("raw")),
        ("ok", AMQPValue::Boolean(true)),
        ("count", AMQPValue::LongLongInt(-42)),
        (
            "nested",
            AMQPValue::FieldTable(table(vec![(
                "list",
                AMQPValue::FieldArray(FieldArray::from(vec![
                    AMQPValue::FieldTable(table(vec![("leaf", long_str("bottom"))])),
                    AMQPValue::LongLongInt(7),
                ])),
            )])),
        ),
    ]);
    let arrays_expected = table(vec![(
        "deep",
        AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::FieldArray(
            FieldArray::from(vec![AMQPValue::FieldArray(FieldArray::from(vec![
                long_str("bottom"),
            ]))]),
        )])),
    )]);
    let tables_expected = table(vec![(
        "deep",
        AMQPValue::FieldTable(table(vec![(
            "deep",
            AMQPValue::FieldTable(table(vec![(
                "deep",
                AMQPValue::FieldTable(table(vec![("deep", long_str("bottom"))])),
            )])),
        )])),
    )]);
    [
        (built.into_payload(), built_expected),
        (nested_arrays(3), arrays_expected),
        (nested_tables(3), tables_expected),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (headers, expected))| {
        let msg = RawMessage {
            exchange: b"amq.topic".to_vec(),
            routing_key: format!("raw.publish.{i}").into_bytes(),
            props: RawProps {
                message_id: Some(format!("raw-{i}").into_bytes()),
                content_type: Some(b"application/octet-stream".to_vec()),
                delivery_mode: Some(2),
                ..RawProps::default()
            },
            headers: Some(headers),
            body: body.clone(),
        };
        (msg, expected)
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_publish_round_trips_valid_messages_through_lapin() {
    wait_for_system_broker().await;
    let vhost = Vhost::new();
    let conn = vhost.connect().await;
    let ch = conn.create_channel().await.expect("open a lapin channel");
    ch.queue_declare(
        QUEUE.into(),
        QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        },
        FieldTable::default(),
    )
    .await
    .expect("declare the queue");
    ch.queue_bind(
        QUEUE.into(),
        "amq.topic".into(),
        "raw.#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .expect("bind the queue to amq.topic");

    let sent = messages();
    let to_send: Vec<RawMessage> = sent.iter().map(|(m, _)| m.clone()).collect();
    let vhost_name = vhost.name.clone();
    tokio::task::spawn_blocking(move || {
        let mut publisher = RawPublisher::connect(&vhost_name).expect("raw connect");
        for msg in &to_send {
            publisher.publish(msg).expect("raw publish, confirmed");
        }
        publisher.close().expect("raw close");
    })
    .await
    .expect("raw publisher thread");

    for (i, (msg, expected_headers)) in sent.iter().enumerate() {
        let got = ch
            .basic_get(QUEUE.into(), BasicGetOptions { no_ack: true })
            .await
            .expect("basic.get")
            .unwrap_or_else(|| panic!("message {i} is missing from the queue"));
        let d = got.delivery;
        assert_eq!(d.exchange.as_str(), "amq.topic");
        assert_eq!(
            d.routing_key.as_str().as_bytes(),
            msg.routing_key,
            "message {i}"
        );
        let id = d.properties.message_id().as_ref().map(|s| s.as_str());
        assert_eq!(id, Some(format!("raw-{i}").as_str()));
        assert_eq!(d.properties.delivery_mode(), &Some(2));
        assert_eq!(
            d.properties.headers().as_ref(),
            Some(expected_headers),
            "message {i}"
        );
        assert!(d.data == msg.body, "message {i}: body differs");
    }
    let none = ch
        .basic_get(QUEUE.into(), BasicGetOptions { no_ack: true })
        .await
        .expect("basic.get");
    assert!(none.is_none(), "exactly three messages were published");
    let _ = conn.close(200, "done".into()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_publish_to_a_missing_exchange_fails_with_the_brokers_reason() {
    wait_for_system_broker().await;
    let vhost = Vhost::new();
    let vhost_name = vhost.name.clone();
    tokio::task::spawn_blocking(move || {
        let mut publisher = RawPublisher::connect(&vhost_name).expect("raw connect");
        let missing = RawMessage {
            exchange: b"no-such-exchange".to_vec(),
            routing_key: b"anything".to_vec(),
            body: b"{}".to_vec(),
            ..RawMessage::default()
        };
        let began = Instant::now();
        let err = publisher
            .publish(&missing)
            .expect_err("a publish to a missing exchange is refused");
        let text = err.to_string();
        assert!(
            text.contains("404") && text.contains("NOT_FOUND"),
            "error names the broker's reason: {text}"
        );
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "answered, not timed out"
        );

        // The broker closed only the channel; the next publish gets a fresh one.
        let valid = RawMessage {
            exchange: b"amq.topic".to_vec(),
            routing_key: b"raw.after-refusal".to_vec(),
            ..RawMessage::default()
        };
        publisher
            .publish(&valid)
            .expect("publish on a fresh channel");
        publisher.close().expect("raw close");
    })
    .await
    .expect("raw publisher thread");
}

#[test]
fn raw_publish_nested_helpers_match_the_table_builder() {
    let bottom = || Value::LongStr(b"bottom".to_vec());
    let tables = Table::new().entry(
        "deep",
        Value::Table(
            Table::new().entry("deep", Value::Table(Table::new().entry("deep", bottom()))),
        ),
    );
    assert_eq!(nested_tables(2), tables.into_payload());
    let arrays = Table::new().entry("deep", Value::Array(vec![Value::Array(vec![bottom()])]));
    assert_eq!(nested_arrays(2), arrays.into_payload());
    assert_eq!(
        nested_arrays(0),
        Table::new().entry("deep", bottom()).into_payload()
    );
}

#[test]
fn raw_publish_nested_helpers_go_thousands_deep() {
    let depth = 5000;
    // Key `deep` (1 + 4 bytes) and leaf `S` "bottom" (1 + 4 + 6); each array level adds a tag
    // and a length, each table level also the inner key.
    let ends = 5 + 11;
    assert_eq!(nested_arrays(depth).len(), ends + depth * 5);
    assert_eq!(nested_tables(depth).len(), ends + depth * 10);
}

/// The reason the raw publisher exists: RabbitMQ confirms bytes lapin cannot send, so
/// consumers must expect them.
#[tokio::test(flavor = "multi_thread")]
async fn raw_publish_poison_is_accepted_by_the_broker() {
    wait_for_system_broker().await;
    let vhost = Vhost::new();
    let vhost_name = vhost.name.clone();
    tokio::task::spawn_blocking(move || {
        let mut publisher = RawPublisher::connect(&vhost_name).expect("raw connect");
        for headers in [
            nested_tables(3000),
            nested_arrays(3000),
            Table::new()
                .entry(b"k\xff\xfe", Value::LongStr(b"\xc3\x28".to_vec()))
                .into_payload(),
        ] {
            let poison = RawMessage {
                exchange: b"amq.topic".to_vec(),
                routing_key: b"raw.\xff\xfe.bad".to_vec(),
                props: RawProps {
                    message_id: Some(b"id-\x80".to_vec()),
                    kind: Some(b"\xc0\xaf".to_vec()),
                    ..RawProps::default()
                },
                headers: Some(headers),
                body: b"{}".to_vec(),
            };
            publisher.publish(&poison).expect("broker accepts poison");
        }
        publisher.close().expect("raw close");
    })
    .await
    .expect("raw publisher thread");
}
