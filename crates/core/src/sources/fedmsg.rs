//! The fedora-messaging envelope as renderers need it: the schema topic behind the
//! environment prefix, the schema header, the severity, and how far a message's headers can
//! be trusted.
//!
//! fedora-messaging hands a consumer its schema class only when the headers name a schema
//! and pass the header schema (severity one of 10/20/30/40); otherwise the consumer gets the
//! base class, which names no users or packages, or nothing at all. Herald still shows such
//! messages, routed by topic, but attributes them to no one. A link is held to a stricter
//! standard: it is offered only when the headers are entirely well-formed, `sent-at`
//! included, because a message that cannot get its own envelope right is not one to follow
//! somewhere.

use crate::message::{parse_time, Message};
use crate::sources::fields::{header, header_int, header_str};
use lapin::types::AMQPValue;

/// The topic without its `org.<organisation>.<environment>.` prefix, e.g.
/// `buildsys.tag` for `org.fedoraproject.prod.buildsys.tag`.
pub(crate) fn schema_topic(topic: &str) -> &str {
    if let Some(rest) = topic.strip_prefix("org.") {
        let mut parts = rest.splitn(3, '.');
        if let (Some(org), Some(env), Some(tail)) = (parts.next(), parts.next(), parts.next()) {
            if !org.is_empty() && !env.is_empty() && !tail.is_empty() {
                return tail;
            }
        }
    }
    topic
}

/// The `fedora_messaging_schema` header.
pub(crate) fn schema(msg: &Message) -> Option<String> {
    header_str(msg, "fedora_messaging_schema").map(|s| s.into_owned())
}

/// What a message's headers allow a renderer to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Trust {
    /// Users, packages and agent may be taken from the body.
    pub attribute: bool,
    /// A link may be offered.
    pub link: bool,
}

pub(crate) fn trust(msg: &Message) -> Trust {
    let schema_ok = matches!(
        header(msg, "fedora_messaging_schema"),
        Some(AMQPValue::ShortString(_) | AMQPValue::LongString(_))
    );
    let severity_ok = match header(msg, "fedora_messaging_severity") {
        None => true,
        Some(_) => valid_severity(msg).is_some(),
    };
    let sent_at_ok = match header(msg, "sent-at") {
        None => true,
        Some(_) => header_str(msg, "sent-at").is_some_and(|s| parse_time(&s).is_some()),
    };
    let attribute = schema_ok && severity_ok;
    Trust {
        attribute,
        link: attribute && sent_at_ok,
    }
}

fn valid_severity(msg: &Message) -> Option<u8> {
    match header_int(msg, "fedora_messaging_severity")? {
        n @ (10 | 20 | 30 | 40) => u8::try_from(n).ok(),
        _ => None,
    }
}

/// The header's severity when it is a valid level, else the schema's own for this topic.
pub(crate) fn severity(msg: &Message, schema_default: u8) -> u8 {
    valid_severity(msg).unwrap_or(schema_default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_stripped() {
        assert_eq!(
            schema_topic("org.fedoraproject.prod.buildsys.tag"),
            "buildsys.tag"
        );
        assert_eq!(
            schema_topic("org.release-monitoring.prod.anitya.project.add"),
            "anitya.project.add"
        );
        assert_eq!(schema_topic("org.fedoraproject.stg.x"), "x");
        // CI Messages travel under the CentOS CI prefix.
        assert_eq!(
            schema_topic("org.centos.prod.ci.koji-build.test.complete"),
            "ci.koji-build.test.complete"
        );
        assert_eq!(
            schema_topic("org.centos.stage.ci.koji-build.test.error"),
            "ci.koji-build.test.error"
        );
        assert_eq!(schema_topic("buildsys.tag"), "buildsys.tag");
        assert_eq!(
            schema_topic("org.fedoraproject.prod"),
            "org.fedoraproject.prod"
        );
        assert_eq!(schema_topic(""), "");
    }
}
