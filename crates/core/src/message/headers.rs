//! AMQP header tables: the exact wire encoding (what the store keeps) and a plain JSON view
//! (what people and renderers read).
//!
//! Header tables come from publishers Herald does not trust, so every walk over them here is
//! bounded by [`MAX_DEPTH`]: the decoder already keeps anything deeper as unparsed bytes, and
//! tables built from JSON are cut at the same depth.

use base64::Engine as _;
use lapin::types::{
    generation::gen_field_table,
    parsing::{parse_field_table, MAX_NESTING_DEPTH},
    AMQPType, AMQPValue, FieldArray, FieldTable, LongString, ShortString,
};
use serde_json::{Map, Number, Value};

/// How deep Herald walks a header table: the decoder's own limit, past which values arrive as
/// unparsed bytes.
pub const MAX_DEPTH: usize = MAX_NESTING_DEPTH;

/// Encodes a header table in the AMQP 0-9-1 wire format, type tags included.
pub fn encode_header_table(table: &FieldTable) -> Vec<u8> {
    match cookie_factory::gen_simple(gen_field_table(table), Vec::new()) {
        Ok(bytes) => bytes,
        // Writing into a Vec cannot run out of space; an error here means a value the
        // encoder cannot represent, and an empty table is the honest fallback.
        Err(_) => vec![0, 0, 0, 0],
    }
}

/// Decodes bytes written by [`encode_header_table`].
pub fn decode_header_table(bytes: &[u8]) -> Option<FieldTable> {
    parse_field_table(bytes).ok().map(|(_, t)| t)
}

/// The JSON view of a header table.
pub fn headers_to_json(table: &FieldTable) -> Value {
    table_to_json(table, 0)
}

fn table_to_json(table: &FieldTable, depth: usize) -> Value {
    Value::Object(
        table
            .inner()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), to_json(v, depth + 1)))
            .collect(),
    )
}

pub(crate) fn value_to_json(v: &AMQPValue) -> Value {
    to_json(v, 1)
}

fn to_json(v: &AMQPValue, depth: usize) -> Value {
    match v {
        AMQPValue::Boolean(b) => Value::Bool(*b),
        AMQPValue::ShortShortInt(n) => (*n).into(),
        AMQPValue::ShortShortUInt(n) => (*n).into(),
        AMQPValue::ShortInt(n) => (*n).into(),
        AMQPValue::ShortUInt(n) => (*n).into(),
        AMQPValue::LongInt(n) => (*n).into(),
        AMQPValue::LongUInt(n) => (*n).into(),
        AMQPValue::LongLongInt(n) => (*n).into(),
        AMQPValue::Timestamp(n) => (*n).into(),
        AMQPValue::Float(f) => float(f64::from(*f)),
        AMQPValue::Double(f) => float(*f),
        AMQPValue::DecimalValue(d) => float(f64::from(d.value) / 10f64.powi(i32::from(d.scale))),
        AMQPValue::ShortString(s) => Value::String(s.as_str().to_owned()),
        AMQPValue::LongString(s) => {
            Value::String(String::from_utf8_lossy(s.as_bytes()).into_owned())
        }
        AMQPValue::FieldArray(_) | AMQPValue::FieldTable(_) if depth >= MAX_DEPTH => {
            Value::String("(nested too deeply to show)".to_owned())
        }
        AMQPValue::FieldArray(a) => {
            Value::Array(a.as_slice().iter().map(|v| to_json(v, depth + 1)).collect())
        }
        AMQPValue::FieldTable(t) => table_to_json(t, depth),
        AMQPValue::ByteArray(b) => {
            let mut m = Map::new();
            m.insert(
                "$bytes".to_owned(),
                Value::String(base64::engine::general_purpose::STANDARD.encode(b.as_slice())),
            );
            // A table or array the decoder kept unparsed because it nested too deeply.
            if let Some(kind) = b.opaque_type() {
                m.insert(
                    "$unparsed".to_owned(),
                    Value::String(kind_name(kind).to_owned()),
                );
            }
            Value::Object(m)
        }
        AMQPValue::Void => Value::Null,
    }
}

fn kind_name(t: AMQPType) -> &'static str {
    match t {
        AMQPType::FieldTable => "table",
        AMQPType::FieldArray => "array",
        _ => "value",
    }
}

/// What the wire form of a header table got wrong, as problems to show with the message:
/// names that were not UTF-8, and nesting kept unparsed. Walks at most [`MAX_DEPTH`] levels
/// with an explicit stack.
pub(crate) fn wire_problems(table: &FieldTable) -> Vec<String> {
    let mut bad_names = 0usize;
    let mut first_bad = None;
    let mut unparsed = false;
    let mut stack: Vec<(&AMQPValue, usize)> = Vec::new();
    let mut visit_table = |t: &'_ FieldTable| {
        for k in t.inner().keys().filter(|k| k.is_lossy()) {
            bad_names += 1;
            first_bad.get_or_insert_with(|| k.as_str().to_owned());
        }
    };
    visit_table(table);
    stack.extend(table.inner().values().map(|v| (v, 1)));
    while let Some((v, depth)) = stack.pop() {
        match v {
            AMQPValue::FieldTable(t) if depth < MAX_DEPTH => {
                visit_table(t);
                stack.extend(t.inner().values().map(|v| (v, depth + 1)));
            }
            AMQPValue::FieldArray(a) if depth < MAX_DEPTH => {
                stack.extend(a.as_slice().iter().map(|v| (v, depth + 1)));
            }
            AMQPValue::ByteArray(b) if b.opaque_type().is_some() => unparsed = true,
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(first) = first_bad {
        out.push(format!(
            "{bad_names} header name(s) are not valid UTF-8 (invalid bytes shown as U+FFFD), \
             first {first:?}; the stored header table keeps the original bytes"
        ));
    }
    if unparsed {
        out.push(format!(
            "headers nest deeper than {MAX_DEPTH} levels; the deeper part is kept unparsed"
        ));
    }
    out
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// Builds a header table from JSON the way Python producers (pika, kombu) encode it:
/// booleans, 64-bit integers, doubles, long strings, arrays and nested tables.
///
/// AMQP field names are limited to 255 bytes; longer names are cut at a character boundary,
/// which is what a broker would have forced the producer to do.
pub fn headers_from_json(obj: &Map<String, Value>) -> FieldTable {
    table_from_json(obj, 0)
}

fn table_from_json(obj: &Map<String, Value>, depth: usize) -> FieldTable {
    let mut t = FieldTable::default();
    for (k, v) in obj {
        t.insert(short_name(k), json_to_value(v, depth + 1));
    }
    t
}

fn short_name(k: &str) -> ShortString {
    let mut end = k.len().min(255);
    while !k.is_char_boundary(end) {
        end -= 1;
    }
    ShortString::from(&k[..end])
}

fn json_to_value(v: &Value, depth: usize) -> AMQPValue {
    match v {
        Value::Null => AMQPValue::Void,
        Value::Bool(b) => AMQPValue::Boolean(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                AMQPValue::LongLongInt(i)
            } else {
                AMQPValue::Double(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => AMQPValue::LongString(LongString::from(s.as_bytes().to_vec())),
        // Deeper than the decoder would parse: kept as the JSON text.
        Value::Array(_) | Value::Object(_) if depth >= MAX_DEPTH => {
            AMQPValue::LongString(LongString::from(v.to_string().into_bytes()))
        }
        Value::Array(a) => AMQPValue::FieldArray(FieldArray::from(
            a.iter()
                .map(|v| json_to_value(v, depth + 1))
                .collect::<Vec<_>>(),
        )),
        Value::Object(o) => AMQPValue::FieldTable(table_from_json(o, depth)),
    }
}
