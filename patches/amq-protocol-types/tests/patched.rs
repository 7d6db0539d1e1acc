//! Tests of what this patched copy changes: lenient short strings and bounded nesting.

use amq_protocol_types::generation::gen_field_table;
use amq_protocol_types::parsing::{MAX_NESTING_DEPTH, parse_field_table, parse_short_string};
use amq_protocol_types::{AMQPType, AMQPValue, ByteArray, FieldTable};

fn encode(t: &FieldTable) -> Vec<u8> {
    cookie_factory::gen_simple(gen_field_table(t), Vec::new()).expect("encodes")
}

/// A table holding `key` → a long string, as a broker would send it.
fn table_with_key(key: &[u8]) -> Vec<u8> {
    let mut entry = vec![key.len() as u8];
    entry.extend_from_slice(key);
    entry.extend_from_slice(b"S\0\0\0\x01v");
    let mut out = (entry.len() as u32).to_be_bytes().to_vec();
    out.extend(entry);
    out
}

/// A table whose one entry is `depth` arrays, one inside the other, around a boolean.
fn nested_arrays(depth: usize) -> Vec<u8> {
    let mut value = b"t\x01".to_vec();
    for _ in 0..depth {
        let mut wrapped = vec![b'A'];
        wrapped.extend((value.len() as u32).to_be_bytes());
        wrapped.extend(value);
        value = wrapped;
    }
    let mut entry = b"\x01k".to_vec();
    entry.extend(value);
    let mut out = (entry.len() as u32).to_be_bytes().to_vec();
    out.extend(entry);
    out
}

#[test]
fn invalid_utf8_short_string_is_lossy_and_keeps_its_bytes() {
    let wire = [4, b'a', 0xff, 0xfe, b'b'];
    let (rest, s) = parse_short_string(&wire[..]).expect("parses");
    assert!(rest.is_empty());
    assert!(s.is_lossy());
    assert_eq!(s.as_str(), "a\u{fffd}\u{fffd}b");
    assert_eq!(s.as_bytes(), &wire[1..]);
}

#[test]
fn valid_short_string_is_not_lossy() {
    let (_, s) = parse_short_string(&[2, b'o', b'k'][..]).expect("parses");
    assert!(!s.is_lossy());
    assert_eq!(s.as_bytes(), b"ok");
}

#[test]
fn lossy_text_longer_than_255_bytes_is_accepted() {
    // 255 invalid bytes become 765 bytes of U+FFFD.
    let mut wire = vec![255u8];
    wire.extend(std::iter::repeat_n(0xffu8, 255));
    let (_, s) = parse_short_string(&wire[..]).expect("parses");
    assert_eq!(s.as_str().len(), 765);
    assert_eq!(s.as_bytes().len(), 255);
}

#[test]
fn keys_differing_only_in_invalid_bytes_stay_apart_and_round_trip() {
    let a = table_with_key(b"k-\xff");
    let (_, ta) = parse_field_table(&a[..]).expect("parses");
    assert_eq!(encode(&ta), a, "written back exactly as received");

    let mut both = ta.clone();
    let b = table_with_key(b"k-\xfe");
    let (_, tb) = parse_field_table(&b[..]).expect("parses");
    for (k, v) in tb.inner() {
        both.insert(k.clone(), v.clone());
    }
    assert_eq!(both.inner().len(), 2);
    // Lookups by text still work for valid keys.
    let (_, plain) = parse_field_table(&table_with_key(b"sent-at")[..]).expect("parses");
    assert!(plain.inner().contains_key("sent-at"));
}

#[test]
fn deep_nesting_is_cut_and_kept_as_bytes_on_a_small_stack() {
    let wire = nested_arrays(5_000);
    // Half of lapin's 2 MiB I/O thread stack, in a debug build: 5,000 levels would need
    // about 45 MiB if parsing recursed once per level.
    let parsed = std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(move || {
            let (rest, t) = parse_field_table(&wire[..]).expect("parses");
            assert!(rest.is_empty());
            let again = encode(&t);
            (t, again == wire)
        })
        .expect("spawns")
        .join();
    let (table, round_trip) = parsed.expect("no stack overflow");
    assert!(round_trip, "written back byte for byte");

    let mut v = table.inner().get("k").expect("entry");
    let mut depth = 1;
    while let AMQPValue::FieldArray(a) = v {
        v = &a.as_slice()[0];
        depth += 1;
    }
    match v {
        AMQPValue::ByteArray(b) => {
            assert_eq!(b.opaque_type(), Some(AMQPType::FieldArray));
            assert_eq!(v.get_type(), AMQPType::FieldArray);
        }
        other => panic!("expected the cut value, got {other:?}"),
    }
    assert_eq!(depth, MAX_NESTING_DEPTH);
    drop(table);
}

#[test]
fn nesting_within_the_limit_is_parsed_in_full() {
    let wire = nested_arrays(MAX_NESTING_DEPTH - 1);
    let (_, t) = parse_field_table(&wire[..]).expect("parses");
    let mut v = t.inner().get("k").expect("entry");
    while let AMQPValue::FieldArray(a) = v {
        v = &a.as_slice()[0];
    }
    assert_eq!(v, &AMQPValue::Boolean(true));
}

#[test]
fn real_byte_arrays_are_not_opaque() {
    let b = ByteArray::from(vec![1, 2, 3]);
    assert_eq!(b.opaque_type(), None);
    assert_eq!(AMQPValue::ByteArray(b).get_type(), AMQPType::ByteArray);
}
