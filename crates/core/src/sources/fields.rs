//! Typed reads from an untrusted body or header table. Producers send the wrong type often
//! enough (a string id, a null user, a list where an object belongs) that every read says
//! which JSON type it accepts and yields `None` for anything else, so renderers never index
//! blindly.

use crate::message::Message;
use lapin::types::AMQPValue;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The value at `path` below `v`, following object keys.
pub(crate) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, key| v.as_object()?.get(*key))
}

/// A string at `path`; empty strings count as absent.
pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path)?.as_str().filter(|s| !s.is_empty())
}

/// A JSON integer at `path` (not a float, not a numeric string).
pub(crate) fn int_at(v: &Value, path: &[&str]) -> Option<i64> {
    at(v, path)?.as_i64()
}

/// An object at `path`.
pub(crate) fn obj_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Map<String, Value>> {
    at(v, path)?.as_object()
}

/// An array at `path`.
pub(crate) fn arr_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a [Value]> {
    at(v, path)?.as_array().map(Vec::as_slice)
}

/// The strings of an array at `path`, skipping anything else.
pub(crate) fn strs_at<'a>(v: &'a Value, path: &[&str]) -> impl Iterator<Item = &'a str> {
    arr_at(v, path)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
}

/// A scalar shown as text: strings as they are, numbers and booleans written out.
pub(crate) fn text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) if !s.is_empty() => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        _ => None,
    }
}

/// A scalar at `path` shown as text.
pub(crate) fn text_at<'a>(v: &'a Value, path: &[&str]) -> Option<Cow<'a, str>> {
    text(at(v, path)?)
}

/// A header value.
pub(crate) fn header<'a>(msg: &'a Message, key: &str) -> Option<&'a AMQPValue> {
    msg.headers.inner().get(key)
}

/// A string header (short or long string; invalid UTF-8 shown lossily); empty counts as absent.
pub(crate) fn header_str<'a>(msg: &'a Message, key: &str) -> Option<Cow<'a, str>> {
    let s = match header(msg, key)? {
        AMQPValue::ShortString(s) => Cow::Borrowed(s.as_str()),
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// An integer header of any AMQP integer width.
pub(crate) fn header_int(msg: &Message, key: &str) -> Option<i64> {
    crate::message::header_int(header(msg, key)?)
}

/// A scalar header shown as text.
pub(crate) fn header_text<'a>(msg: &'a Message, key: &str) -> Option<Cow<'a, str>> {
    if let Some(s) = header_str(msg, key) {
        return Some(s);
    }
    if let Some(n) = header_int(msg, key) {
        return Some(Cow::Owned(n.to_string()));
    }
    match header(msg, key)? {
        AMQPValue::Boolean(b) => Some(Cow::Owned(b.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_are_typed() {
        let v = json!({"a": {"b": "x", "n": 3, "f": 1.5, "s": "7", "e": "", "l": ["p", 1, "q"]}});
        assert_eq!(str_at(&v, &["a", "b"]), Some("x"));
        assert_eq!(str_at(&v, &["a", "e"]), None);
        assert_eq!(str_at(&v, &["a", "n"]), None);
        assert_eq!(int_at(&v, &["a", "n"]), Some(3));
        assert_eq!(int_at(&v, &["a", "f"]), None);
        assert_eq!(int_at(&v, &["a", "s"]), None);
        assert_eq!(strs_at(&v, &["a", "l"]).collect::<Vec<_>>(), ["p", "q"]);
        assert_eq!(strs_at(&v, &["a", "b"]).count(), 0);
        assert_eq!(text_at(&v, &["a", "f"]).as_deref(), Some("1.5"));
        assert_eq!(at(&v, &["a", "b", "c"]), None);
    }
}
