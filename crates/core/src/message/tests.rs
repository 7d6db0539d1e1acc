use super::*;
use lapin::types::{LongString, ShortString};

fn env(headers: Option<FieldTable>, props: Properties, body: &[u8]) -> Envelope {
    Envelope {
        exchange: "amq.topic".into(),
        routing_key: "org.fedoraproject.prod.buildsys.tag".into(),
        properties: props,
        headers,
        body: body.to_vec(),
        received_at: OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("valid time"),
    }
}

fn table(pairs: &[(&str, AMQPValue)]) -> FieldTable {
    let mut t = FieldTable::default();
    for (k, v) in pairs {
        t.insert((*k).into(), v.clone());
    }
    t
}

fn s(v: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(v.as_bytes().to_vec()))
}

#[test]
fn fedora_messaging_headers_give_time_severity_and_mentions() {
    let h = table(&[
        ("sent-at", s("2023-06-09T07:35:15+00:00")),
        ("fedora_messaging_severity", AMQPValue::LongInt(40)),
        ("fedora_messaging_schema", s("x")),
        ("fedora_messaging_user_spot", AMQPValue::Boolean(true)),
        ("fedora_messaging_user_adamw", AMQPValue::Boolean(true)),
        ("fedora_messaging_rpm_chromium", AMQPValue::Boolean(true)),
        ("fedora_messaging_group_kde", AMQPValue::Boolean(true)),
        ("fedora_messaging_container_c1", AMQPValue::Boolean(true)),
        ("fedora_messaging_module_m1", AMQPValue::Boolean(true)),
        ("fedora_messaging_flatpak_f1", AMQPValue::Boolean(true)),
        ("fedora_messaging_rpm_notreally", AMQPValue::Boolean(false)),
        ("fedora_messaging_schema_package", s("koji-messages")),
    ]);
    let props = Properties {
        message_id: Some("37370b5b-728c-4fb2-a61f-fbbb3bbcf773".into()),
        ..Properties::default()
    };
    let m = Message::decode(env(Some(h), props, br#"{"a":1}"#));
    assert_eq!(m.id, "37370b5b-728c-4fb2-a61f-fbbb3bbcf773");
    assert_eq!(m.id_origin, IdOrigin::Property);
    assert_eq!(m.sent_at.unix_timestamp(), 1_686_296_115);
    assert_eq!(m.severity, 40);
    assert_eq!(m.mentions.users, ["adamw", "spot"]);
    assert_eq!(m.mentions.packages, ["chromium"]);
    assert_eq!(m.mentions.groups, ["kde"]);
    assert_eq!(m.mentions.containers, ["c1"]);
    assert_eq!(m.mentions.modules, ["m1"]);
    assert_eq!(m.mentions.flatpaks, ["f1"]);
    assert!(m.problems.is_empty(), "{:?}", m.problems);
    assert!(m.quarantine.is_none());
    assert_eq!(m.json, Some(serde_json::json!({"a": 1})));
}

#[test]
fn without_id_the_hash_is_stable_and_content_sensitive() {
    let a = Message::decode(env(None, Properties::default(), br#"{"a":1}"#));
    let b = Message::decode(env(None, Properties::default(), br#"{"a":1}"#));
    let c = Message::decode(env(None, Properties::default(), br#"{"a":2}"#));
    assert_eq!(a.id_origin, IdOrigin::Hash);
    assert_eq!(a.id, b.id);
    assert_ne!(a.id, c.id);
    assert!(a.id.starts_with("sha256:"));
}

#[test]
fn time_falls_back_to_amqp_timestamp_then_receive_time() {
    let props = Properties {
        timestamp: Some(1_600_000_000),
        ..Properties::default()
    };
    let m = Message::decode(env(None, props, b"{}"));
    assert_eq!(m.sent_at.unix_timestamp(), 1_600_000_000);
    let bad = table(&[("sent-at", s("yesterday-ish"))]);
    let m = Message::decode(env(Some(bad), Properties::default(), b"{}"));
    assert_eq!(m.sent_at, m.received_at);
    assert_eq!(m.problems.len(), 1, "{:?}", m.problems);
}

#[test]
fn jenkins_sent_at_in_java_s_zoned_form_is_the_send_time() {
    let h = table(&[("sent_at", s("2023-11-14T08:41:00.412+00:00[UTC]"))]);
    let m = Message::decode(env(Some(h), Properties::default(), b"{}"));
    assert_eq!(
        m.sent_at.format(&Rfc3339).expect("formats"),
        "2023-11-14T08:41:00.412Z"
    );
    assert!(m.problems.is_empty(), "{:?}", m.problems);

    // fedora-messaging's header wins when both are there.
    let both = table(&[
        ("sent-at", s("2023-11-14T08:00:00+00:00")),
        ("sent_at", s("2023-11-14T08:41:00+00:00[UTC]")),
    ]);
    let m = Message::decode(env(Some(both), Properties::default(), b"{}"));
    assert_eq!(m.sent_at.hour(), 8);
    assert_eq!(m.sent_at.minute(), 0);

    // A zone-only or bracket-only value is no time.
    let bad = table(&[("sent_at", s("[UTC]"))]);
    let m = Message::decode(env(Some(bad), Properties::default(), b"{}"));
    assert_eq!(m.sent_at, m.received_at);
    assert!(
        m.problems[0].starts_with("sent_at header"),
        "{:?}",
        m.problems
    );
}

#[test]
fn invalid_severity_is_info_and_recorded() {
    for v in [s("30"), AMQPValue::LongInt(99), AMQPValue::Boolean(true)] {
        let h = table(&[("fedora_messaging_severity", v)]);
        let m = Message::decode(env(Some(h), Properties::default(), b"{}"));
        assert_eq!(m.severity, 20);
        assert!(m.problems[0].contains("fedora_messaging_severity"));
    }
    let m = Message::decode(env(None, Properties::default(), b"{}"));
    assert_eq!(m.severity, 20);
    assert!(m.problems.is_empty(), "raw producers send no severity");
}

#[test]
fn unusable_bodies_are_quarantined_with_a_reason() {
    let huge = vec![b'x'; MAX_BODY_BYTES + 1];
    let deep = format!("{{\"a\":{}0{}}}", "[".repeat(10_000), "]".repeat(10_000));
    let cases: [(&[u8], &str); 7] = [
        (b"", "empty"),
        (b"<html>", "not JSON"),
        (b"[1,2]", "an array"),
        (b"null", "null"),
        (b"{\"a\":\"\xe9\"}", "UTF-8"),
        (&huge, "limit"),
        (deep.as_bytes(), "not JSON"),
    ];
    for (body, reason) in cases {
        let m = Message::decode(env(None, Properties::default(), body));
        let q = m.quarantine.as_deref().expect("quarantined");
        assert!(q.contains(reason), "{q:?} should mention {reason:?}");
        assert!(m.json.is_none());
        assert_eq!(m.body, body, "bytes kept exactly");
    }
}

#[test]
fn header_tables_round_trip_through_the_wire_encoding() {
    let h = table(&[
        ("b", AMQPValue::Boolean(true)),
        ("i", AMQPValue::LongInt(-5)),
        ("t", AMQPValue::Timestamp(7)),
        ("d", AMQPValue::Double(1.5)),
        ("s", s("text")),
        (
            "x-received-from",
            AMQPValue::FieldArray(
                vec![AMQPValue::FieldTable(table(&[("uri", s("amqps://a"))]))].into(),
            ),
        ),
        ("bytes", AMQPValue::ByteArray(vec![0u8, 1, 2].into())),
        ("v", AMQPValue::Void),
    ]);
    let bytes = encode_header_table(&h);
    assert_eq!(decode_header_table(&bytes), Some(h.clone()));
    let json = headers_to_json(&h);
    assert_eq!(json["x-received-from"][0]["uri"], "amqps://a");
    assert_eq!(json["bytes"]["$bytes"], "AAEC");
    assert_eq!(json["t"], 7);
}

#[test]
fn json_headers_become_python_style_amqp_values() {
    let json = serde_json::json!({"n": 20, "f": true, "s": "x", "nested": {"a": [1, null]}});
    let t = headers_from_json(json.as_object().expect("object"));
    assert_eq!(t.inner()["n"], AMQPValue::LongLongInt(20));
    assert_eq!(headers_to_json(&t), json);
    let long = "k".repeat(300);
    let t = headers_from_json(
        serde_json::json!({ long.clone(): true })
            .as_object()
            .expect("o"),
    );
    assert_eq!(t.inner().keys().next().map(|k| k.as_str().len()), Some(255));
}

#[test]
fn python_isoformat_without_offset_is_utc() {
    let t = parse_time("2024-05-02T10:00:06.123456").expect("parses");
    assert_eq!(t.unix_timestamp(), 1_714_644_006);
    assert!(parse_time("02/05/2024").is_none());
}

/// A header table as a broker sends it: `key` → `value_wire` (type tag included).
fn wire_table(entries: &[(&[u8], Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in entries {
        body.push(k.len() as u8);
        body.extend_from_slice(k);
        body.extend_from_slice(v);
    }
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend(body);
    out
}

fn nested_arrays(depth: usize) -> Vec<u8> {
    let mut value = b"t\x01".to_vec();
    for _ in 0..depth {
        let mut wrapped = vec![b'A'];
        wrapped.extend((value.len() as u32).to_be_bytes());
        wrapped.extend(value);
        value = wrapped;
    }
    value
}

#[test]
fn hostile_header_tables_decode_with_problems_and_keep_their_bytes() {
    // In the decoder's key order (a table is a sorted map), so the bytes can match exactly.
    let wire = wire_table(&[
        (b"deep", nested_arrays(3_000)),
        (b"fedora_messaging_user_\xff", b"t\x01".to_vec()),
        (b"k-\xfe", b"S\x00\x00\x00\x01v".to_vec()),
    ]);
    let h = decode_header_table(&wire).expect("the patched decoder takes it");
    let m = Message::decode(env(Some(h), Properties::default(), br#"{"a":1}"#));
    assert!(m.mentions.users.is_empty(), "a replaced name names nobody");
    assert!(
        m.problems.iter().any(|p| p.contains("2 header name(s)")),
        "{:?}",
        m.problems
    );
    assert!(
        m.problems.iter().any(|p| p.contains("nest deeper than 64")),
        "{:?}",
        m.problems
    );
    assert!(
        encode_header_table(&m.headers) == wire,
        "stored with the bytes that were sent"
    );
    let json = m.headers_json();
    assert_eq!(json["k-\u{fffd}"], "v");
    // The JSON view reaches the cut and marks it.
    let mut v = &json["deep"];
    let mut levels = 0;
    while let Some(a) = v.as_array() {
        v = &a[0];
        levels += 1;
    }
    assert_eq!(levels, headers::MAX_DEPTH - 1);
    assert_eq!(v["$unparsed"], "array");
}

#[test]
fn invalid_utf8_message_ids_stay_distinct_and_are_marked() {
    let id = |bytes: &[u8]| {
        let p = lapin::BasicProperties::default()
            .with_message_id(ShortString::from_wire(bytes.to_vec()).expect("short"));
        let props = Properties::from_amqp(&p);
        Message::decode(env(None, props, br#"{"a":1}"#))
    };
    let a = id(b"id-\xff");
    let b = id(b"id-\xfe");
    assert_eq!(a.id, "id-\\xff");
    assert_ne!(a.id, b.id);
    assert_eq!(a.id_origin, IdOrigin::Property);
    assert_eq!(a.properties.not_utf8, ["message_id"]);
    assert!(a.problems[0].starts_with("message_id is not valid UTF-8"));
    assert!(id(b"plain").problems.is_empty());
}

#[test]
fn json_headers_deeper_than_the_limit_are_kept_as_text() {
    let mut v = serde_json::json!(true);
    for _ in 0..100 {
        v = serde_json::json!([v]);
    }
    let obj = serde_json::json!({ "deep": v });
    let t = headers_from_json(obj.as_object().expect("object"));
    let bytes = encode_header_table(&t);
    assert_eq!(decode_header_table(&bytes), Some(t));
}

#[test]
fn a_sent_at_far_in_the_future_is_ordered_by_arrival() {
    let h = table(&[("sent-at", s("2999-01-01T00:00:00+00:00"))]);
    let e = env(Some(h), Properties::default(), br#"{"a":1}"#);
    let received = e.received_at;
    let m = Message::decode(e);
    assert_eq!(m.sent_at, received);
    assert!(m.problems[0].contains("in the future"), "{:?}", m.problems);

    // A few minutes of skew is believed.
    let soon = received + time::Duration::minutes(3);
    let h = table(&[("sent-at", s(&soon.format(&Rfc3339).expect("formats")))]);
    let m = Message::decode(env(Some(h), Properties::default(), br#"{"a":1}"#));
    assert_eq!(m.sent_at, soon);
    assert!(m.problems.is_empty());
}
