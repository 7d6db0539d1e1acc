//! Where a secret belongs. A password typed for `amqps://alice@broker.example/%2F` is of use
//! to that broker alone: anyone who can change a URL (a page script, a hand edit gone
//! wrong) must not be able to have it sent somewhere else. So every secret Herald stores
//! carries, as keyring attributes, the scheme, host, port, vhost and user it was saved for
//! ([`Binding`]), and a lookup for any other address finds nothing usable.

use super::SecretError;
use lapin::uri::{AMQPScheme, AMQPUri};
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// The keyring attributes a [`Binding`] is stored as. None of them is one the keyring crate
/// manages itself (`service`, `username`, `target`, `application`, `label`).
const ATTRIBUTES: [&str; 5] = ["scheme", "host", "port", "vhost", "user"];

/// The address a secret was saved for: what the broker URL names, as the AMQP client reads
/// it (default ports and vhost filled in, percent-encoding decoded, the host in lower case).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Binding {
    tls: bool,
    host: String,
    port: u16,
    vhost: String,
    user: String,
}

impl Binding {
    /// The binding of a broker URL, parsed as `bus::connect` parses it.
    pub fn of_url(amqp_url: &str) -> Result<Binding, SecretError> {
        let uri = AMQPUri::from_str(amqp_url).map_err(|e| SecretError::Address {
            url: crate::secrets::redact_url(amqp_url),
            // lapin's message may quote the URL, which may hold a password.
            reason: e.replace(amqp_url, "…"),
        })?;
        Ok(Binding::of_uri(&uri))
    }

    /// The binding of a parsed URL.
    pub fn of_uri(uri: &AMQPUri) -> Binding {
        Binding {
            tls: uri.scheme == AMQPScheme::AMQPS,
            host: uri.authority.host.to_ascii_lowercase(),
            port: uri.authority.port,
            vhost: uri.vhost.clone(),
            user: uri.authority.userinfo.username.clone(),
        }
    }

    /// True over TLS (`amqps`).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// True when the host is this machine: `localhost`, or a loopback address. Only there may
    /// a password travel without TLS, since nothing on the wire can read it.
    pub fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// The attributes to store with a secret.
    pub(crate) fn attributes(&self) -> HashMap<&'static str, String> {
        let values = [
            if self.tls { "amqps" } else { "amqp" }.to_owned(),
            self.host.clone(),
            self.port.to_string(),
            self.vhost.clone(),
            self.user.clone(),
        ];
        ATTRIBUTES.into_iter().zip(values).collect()
    }

    /// What a stored item's attributes say, or `None` when it carries none of them (saved
    /// before secrets were bound). An item with some but not all, or with values that do not
    /// parse, binds to nothing: [`Stored::Elsewhere`] with an address no URL has.
    pub(crate) fn from_attributes(attrs: &HashMap<String, String>) -> Option<Bound> {
        if ATTRIBUTES.iter().all(|k| !attrs.contains_key(*k)) {
            return None;
        }
        let get = |k: &str| attrs.get(k).cloned();
        let parsed = (|| {
            let tls = match get("scheme")?.as_str() {
                "amqps" => true,
                "amqp" => false,
                _ => return None,
            };
            Some(Binding {
                tls,
                host: get("host")?,
                port: get("port")?.parse().ok()?,
                vhost: get("vhost")?,
                user: get("user")?,
            })
        })();
        Some(match parsed {
            Some(b) => Bound::To(b),
            None => Bound::Damaged,
        })
    }
}

/// How a stored item is bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bound {
    To(Binding),
    /// Some of the attributes are missing or do not parse: usable nowhere.
    Damaged,
}

/// `amqps://alice@broker.example:5671 (vhost "/pub")`, for messages: never a password.
impl fmt::Display for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "amqps" } else { "amqp" };
        let host = if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(
            f,
            "{scheme}://{}@{host}:{} (vhost {:?})",
            self.user, self.port, self.vhost
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(
        "amqps://alice@Broker.Example/%2Fpub",
        true,
        "broker.example",
        5671,
        "/pub",
        "alice"
    )]
    #[case("amqp://bob@127.0.0.1/", false, "127.0.0.1", 5672, "", "bob")]
    #[case("amqp://b%40b@h:1234/%2F", false, "h", 1234, "/", "b@b")]
    #[case("amqps://h", true, "h", 5671, "/", "guest")]
    fn a_url_binds_to_what_the_client_connects_to(
        #[case] url: &str,
        #[case] tls: bool,
        #[case] host: &str,
        #[case] port: u16,
        #[case] vhost: &str,
        #[case] user: &str,
    ) {
        let b = Binding::of_url(url).expect("binding");
        assert_eq!(b.is_tls(), tls);
        assert_eq!((b.host(), b.port()), (host, port));
        assert_eq!(b.vhost, vhost);
        assert_eq!(b.user, user);
    }

    #[test]
    fn spellings_of_one_address_bind_alike_and_others_do_not() {
        let b = |u: &str| Binding::of_url(u).expect("binding");
        assert_eq!(b("amqps://a@h/%2F"), b("amqps://a@H:5671/%2f"));
        for other in [
            "amqp://a@h:5671/%2F",
            "amqps://a@h:5672/%2F",
            "amqps://a@evil.example/%2F",
            "amqps://b@h/%2F",
            "amqps://a@h/other",
        ] {
            assert_ne!(b("amqps://a@h/%2F"), b(other), "{other}");
        }
    }

    #[test]
    fn attributes_round_trip_and_partial_ones_bind_nowhere() {
        let b = Binding::of_url("amqps://alice@broker.example/%2Fpub").expect("binding");
        let attrs: HashMap<String, String> = b
            .attributes()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(Binding::from_attributes(&attrs), Some(Bound::To(b.clone())));
        let legacy: HashMap<String, String> =
            [("application".to_owned(), "rust-keyring".to_owned())].into();
        assert_eq!(Binding::from_attributes(&legacy), None);
        let mut partial = attrs.clone();
        partial.remove("host");
        assert_eq!(Binding::from_attributes(&partial), Some(Bound::Damaged));
        let mut bad_port = attrs;
        bad_port.insert("port".to_owned(), "x".to_owned());
        assert_eq!(Binding::from_attributes(&bad_port), Some(Bound::Damaged));
    }

    #[rstest]
    #[case("amqp://a@localhost/", true)]
    #[case("amqp://a@127.0.0.1/", true)]
    #[case("amqp://a@127.1.2.3/", true)]
    #[case("amqp://a@[::1]/", true)]
    #[case("amqp://a@10.0.0.1/", false)]
    #[case("amqp://a@evil.example/", false)]
    #[case("amqp://a@localhost.evil.example/", false)]
    fn loopback_is_this_machine_only(#[case] url: &str, #[case] loopback: bool) {
        assert_eq!(
            Binding::of_url(url).expect("binding").is_loopback(),
            loopback
        );
    }

    #[test]
    fn shown_without_password() {
        let b = Binding::of_url("amqps://alice:hunter2@h/%2Fv").expect("binding");
        assert_eq!(b.to_string(), "amqps://alice@h:5671 (vhost \"/v\")");
        assert!(Binding::of_url("amqp://u:hunter2@[::1/")
            .expect_err("unparsable")
            .to_string()
            .find("hunter2")
            .is_none());
    }
}
