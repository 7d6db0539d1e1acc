//! Support for Herald's end-to-end tests against a real RabbitMQ: brokers to run against
//! ([`broker`]) and throw-away TLS certificates for them ([`certs`]); and against a real bus
//! archive, datagrepper ([`archive`]).

pub mod archive;
pub mod broker;
pub mod catch_up;
pub mod certs;
pub mod chains;
pub mod dbus;
pub mod fault_proxy;
pub mod footprint;
pub mod herald;
pub mod keyring;
pub mod notify_world;
pub mod poison;
pub mod tray;
pub mod webview;
