//! Starting at login from inside a Flatpak sandbox, where the host's autostart folder is out
//! of reach: the Background portal (`org.freedesktop.portal.Background.RequestBackground`)
//! writes the entry for Herald, with `herald-desktop --tray` as its command, or removes it.
//! The portal may ask the user first; its answer arrives as the `Response` signal of a
//! request object whose path is known before the call, so the signal cannot be missed.

use std::collections::HashMap;

use futures_util::StreamExt as _;
use zbus::{Connection, MatchRule, MessageStream, ObjectPath, OwnedVariant, Variant};

const PORTAL: &str = "org.freedesktop.portal.Desktop";
const PORTAL_PATH: &str = "/org/freedesktop/portal/desktop";
const BACKGROUND: &str = "org.freedesktop.portal.Background";
const REQUEST: &str = "org.freedesktop.portal.Request";

/// What the sandboxed entry runs: the app's own command, in the tray only.
pub const COMMANDLINE: [&str; 2] = ["herald-desktop", "--tray"];

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("cannot reach the Background portal")]
    Bus(#[from] zbus::Error),
    #[error("starting at login was not allowed (the portal answered {0})")]
    Refused(u32),
    #[error("the Background portal did not answer")]
    NoAnswer,
}

/// Asks the portal on the session bus to turn starting at login on or off.
pub async fn request(enabled: bool) -> Result<(), PortalError> {
    let conn = Connection::session().await?;
    request_on(&conn, enabled).await
}

/// [`request`] on a given connection (the tests' private bus).
pub async fn request_on(conn: &Connection, enabled: bool) -> Result<(), PortalError> {
    let token = request_token();
    let sender = conn
        .unique_name()
        .map(|n| n.trim_start_matches(':').replace('.', "_"))
        .ok_or(PortalError::NoAnswer)?;
    let path = request_path(&sender, &token)?;
    let rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(REQUEST)
        .member("Response")
        .path(path)
        .build()?;
    let mut answers =
        MessageStream::for_match_rule(rule, conn, std::num::NonZeroUsize::new(1)).await?;

    let reason = "Start Herald in the tray when you log in";
    let mut options: HashMap<&str, Variant<'_>> = HashMap::new();
    options.insert("handle_token", Variant::from(token.as_str()));
    options.insert("reason", Variant::from(reason));
    options.insert("autostart", Variant::from(enabled));
    options.insert("commandline", Variant::from(COMMANDLINE.to_vec()));
    options.insert("dbus-activatable", Variant::from(false));
    conn.call_method(
        Some(PORTAL),
        PORTAL_PATH,
        Some(BACKGROUND),
        "RequestBackground",
        &("", options),
    )
    .await?;

    let answer = answers.next().await.ok_or(PortalError::NoAnswer)??;
    let (response, results): (u32, HashMap<String, OwnedVariant>) = answer.body().deserialize()?;
    if response != 0 {
        return Err(PortalError::Refused(response));
    }
    // The portal says what it set up; asked to turn it on, anything but on is a refusal.
    let autostart = results
        .get("autostart")
        .and_then(|v| bool::try_from(v).ok())
        .unwrap_or(false);
    if enabled && !autostart {
        return Err(PortalError::Refused(response));
    }
    Ok(())
}

/// The request object the portal creates for a call with `handle_token`, from the caller's
/// unique name without its `:` and with `.` as `_` (the portal documentation's rule).
pub fn request_path(sender: &str, token: &str) -> zbus::Result<ObjectPath<'static>> {
    ObjectPath::try_from(format!("{PORTAL_PATH}/request/{sender}/{token}"))
}

/// A token unique among this process's requests: letters, digits and `_` only, as object
/// path elements must be.
fn request_token() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("herald_{}_{n}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_path_follows_the_portal_rule() {
        let path = request_path("1_42", "herald_7_0").expect("a valid path");
        assert_eq!(
            path.as_str(),
            "/org/freedesktop/portal/desktop/request/1_42/herald_7_0"
        );
        assert_ne!(request_token(), request_token());
        assert!(request_path("1_42", &request_token()).is_ok());
        assert_eq!(COMMANDLINE, ["herald-desktop", "--tray"]);
    }
}
