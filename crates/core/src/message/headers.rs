//! AMQP header tables: the exact wire encoding (what the store keeps) and a plain JSON view
//! (what people and renderers read).

use base64::Engine as _;
use lapin::types::{
    generation::gen_field_table, parsing::parse_field_table, AMQPValue, FieldArray, FieldTable,
    LongString, ShortString,
};
use serde_json::{Map, Number, Value};

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
    Value::Object(
        table
            .inner()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), value_to_json(v)))
            .collect(),
    )
}

pub(crate) fn value_to_json(v: &AMQPValue) -> Value {
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
        AMQPValue::FieldArray(a) => Value::Array(a.as_slice().iter().map(value_to_json).collect()),
        AMQPValue::FieldTable(t) => headers_to_json(t),
        AMQPValue::ByteArray(b) => {
            let mut m = Map::new();
            m.insert(
                "$bytes".to_owned(),
                Value::String(base64::engine::general_purpose::STANDARD.encode(b.as_slice())),
            );
            Value::Object(m)
        }
        AMQPValue::Void => Value::Null,
    }
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
    let mut t = FieldTable::default();
    for (k, v) in obj {
        t.insert(short_name(k), json_to_value(v));
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

fn json_to_value(v: &Value) -> AMQPValue {
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
        Value::Array(a) => AMQPValue::FieldArray(FieldArray::from(
            a.iter().map(json_to_value).collect::<Vec<_>>(),
        )),
        Value::Object(o) => AMQPValue::FieldTable(headers_from_json(o)),
    }
}
