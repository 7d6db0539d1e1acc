//! A header table off the wire. The patched decoder promises that what it parses is written
//! back byte for byte (non-UTF-8 names, nesting past `MAX_NESTING_DEPTH` kept unparsed): the
//! store keeps `encode_header_table` of what arrived and message ids hash it. Input that is
//! not in the encoder's own form (keys out of order or repeated, the `U`/`L` tag aliases,
//! booleans other than 0/1) cannot come back as it was, but its encoding must then round-trip.
#![no_main]

use herald_core::message::{encode_header_table, headers_to_json};
use lapin::types::{parsing::parse_field_table, parsing::MAX_NESTING_DEPTH, ShortString};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((rest, table)) = parse_field_table(data) else {
        return;
    };
    let consumed = &data[..data.len() - rest.len()];
    let _ = headers_to_json(&table);
    let encoded = encode_header_table(&table);
    if table_end(consumed, 0) == Some(&[][..]) {
        assert_eq!(
            encoded, consumed,
            "canonical table not written back as received"
        );
    }
    let (tail, again) = parse_field_table(&encoded[..]).expect("own encoding decodes");
    assert!(tail.is_empty(), "own encoding decodes with bytes left over");
    // NaN is not equal to itself; the byte comparison below is exact in any case.
    assert!(again == table || format!("{again:?}") == format!("{table:?}"));
    assert_eq!(
        encode_header_table(&again),
        encoded,
        "encoding is not stable"
    );
});

// A reading of the wire format independent of the decoder, that accepts only the encoder's
// form: each returns what follows the item, or `None` when it is not canonical. Depths count
// as in the decoder: a table's values sit one deeper than the table.

fn table_end(b: &[u8], depth: usize) -> Option<&[u8]> {
    let (mut p, rest) = long(b)?;
    let mut last: Option<ShortString> = None;
    while let Some((&n, tail)) = p.split_first() {
        let key = ShortString::from_wire(tail.get(..n as usize)?.to_vec()).ok()?;
        if last.as_ref().is_some_and(|l| *l >= key) {
            return None;
        }
        p = value_end(&tail[n as usize..], depth + 1)?;
        last = Some(key);
    }
    Some(rest)
}

fn array_end(b: &[u8], depth: usize) -> Option<&[u8]> {
    let (mut p, rest) = long(b)?;
    while !p.is_empty() {
        p = value_end(p, depth + 1)?;
    }
    Some(rest)
}

fn value_end(b: &[u8], depth: usize) -> Option<&[u8]> {
    let (&tag, b) = b.split_first()?;
    match tag {
        b't' => (*b.first()? <= 1).then(|| &b[1..]),
        b'b' | b'B' => b.get(1..),
        b's' | b'u' => b.get(2..),
        b'I' | b'i' | b'f' => b.get(4..),
        b'D' => b.get(5..),
        b'l' | b'd' | b'T' => b.get(8..),
        b'V' => Some(b),
        b'S' | b'x' => long(b).map(|(_, rest)| rest),
        // Kept as unparsed bytes by the decoder, written back as they came.
        b'F' | b'A' if depth >= MAX_NESTING_DEPTH => long(b).map(|(_, rest)| rest),
        b'F' => table_end(b, depth),
        b'A' => array_end(b, depth),
        _ => None,
    }
}

/// A `u32` length and that many bytes: (those bytes, what follows).
fn long(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = u32::from_be_bytes(b.get(..4)?.try_into().ok()?) as usize;
    Some((b.get(4..4 + n)?, &b[4 + n..]))
}
