//! The broker side: connecting (amqp or amqps, verified TLS, client certificates with SASL
//! EXTERNAL as fedora-messaging does), declaring the topology and consuming. The ack policy
//! and the reconnect loop live in [`crate::pipeline`], the one owner of the connection.

use crate::config::{self, FEDORA_CERT_DIR};
use crate::error::BusError;
use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};
use lapin::types::LongString;
use lapin::uri::{AMQPScheme, AMQPUri, SASLMechanism};
use lapin::{Connection, ConnectionProperties};
use std::path::Path;
use std::str::FromStr;

pub mod topology;

/// Opens a connection as the config describes.
pub async fn connect(cfg: &config::Connection) -> Result<Connection, BusError> {
    let mut uri = AMQPUri::from_str(&cfg.amqp_url).map_err(|e| {
        // The parser's message may quote the URL; rebuild it from the redacted form.
        BusError::Url(format!(
            "{} ({})",
            cfg.redacted_url(),
            e.replace(&cfg.amqp_url, "")
        ))
    })?;
    let tls = tls_config(cfg, uri.scheme == AMQPScheme::AMQPS)?;
    if tls.identity.is_some() {
        uri.query.auth_mechanism = Some(SASLMechanism::External);
    }
    let runtime = lapin::runtime::default_runtime().map_err(|source| BusError::Connect {
        url: cfg.redacted_url(),
        source,
    })?;
    Connection::connect_uri_with_config(uri, properties(cfg), tls, runtime)
        .await
        .map_err(|source| BusError::Connect {
            url: cfg.redacted_url(),
            source,
        })
}

fn properties(cfg: &config::Connection) -> ConnectionProperties {
    let mut props = ConnectionProperties::default()
        .with_connection_name("Herald".into())
        .with_client_property("product".into(), "Herald".into())
        .with_client_property("version".into(), env!("CARGO_PKG_VERSION").into())
        .with_client_property(
            "information".into(),
            "Herald, a desktop client of the Fedora messaging bus".into(),
        );
    for (k, v) in &cfg.client_properties {
        props =
            props.with_client_property(k.as_str().into(), LongString::from(v.as_bytes().to_vec()));
    }
    props
}

/// Reads the TLS files the config names. Verification is never turned off: without a
/// `ca_cert`, the system's trusted roots apply.
fn tls_config(cfg: &config::Connection, amqps: bool) -> Result<OwnedTLSConfig, BusError> {
    if !amqps {
        return Ok(OwnedTLSConfig::default());
    }
    let read = |what: &'static str, path: &Path| {
        std::fs::read(path).map_err(|source| {
            if cfg.fedora_public_profile && source.kind() == std::io::ErrorKind::NotFound {
                BusError::FedoraCertificates {
                    path: path.to_owned(),
                    dir: FEDORA_CERT_DIR,
                }
            } else {
                BusError::TlsFile {
                    what,
                    path: path.to_owned(),
                    source,
                }
            }
        })
    };
    let cert_chain = match &cfg.tls.ca_cert {
        Some(p) => Some(String::from_utf8_lossy(&read("CA certificate", p)?).into_owned()),
        None => None,
    };
    let identity = match (&cfg.tls.certfile, &cfg.tls.keyfile) {
        (Some(cert), Some(key)) => Some(OwnedIdentity::PKCS8 {
            pem: read("client certificate", cert)?,
            key: read("client key", key)?,
        }),
        _ => None,
    };
    Ok(OwnedTLSConfig {
        identity,
        cert_chain,
    })
}
