//! Broker URLs as the window shows them — `amqps://host:port/vhost` and a separate user
//! name — and as the file keeps them (`amqps://user@host/vhost`), never with a password.

use super::SettingsError;

/// `amqp_url` split for the window: the URL without user info, and the (decoded) user.
/// An unparsable URL is shown as written minus anything before an `@`, so a password in
/// it is never shown.
pub(crate) fn split(amqp_url: &str) -> (String, Option<String>) {
    match url::Url::parse(amqp_url) {
        Ok(mut u) => {
            let user = percent_encoding::percent_decode_str(u.username())
                .decode_utf8_lossy()
                .into_owned();
            // Infallible for URLs with a host, which are the only ones with a user.
            let _ = u.set_username("");
            let _ = u.set_password(None);
            (u.to_string(), (!user.is_empty()).then_some(user))
        }
        Err(_) => {
            let shown = match amqp_url.split_once("://") {
                Some((scheme, rest)) => {
                    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                    format!("{scheme}://{rest}")
                }
                None => String::new(),
            };
            (shown, None)
        }
    }
}

/// The `amqp_url` to write for `url` and `username`, checked: amqp or amqps, a host, no
/// password (passwords live in the keyring). A user written into `url` is accepted when
/// `username` is empty or the same. `field` names the URL in errors.
pub(crate) fn join(
    url: &str,
    username: Option<&str>,
    field: &str,
) -> Result<String, SettingsError> {
    let invalid = |reason: &str| SettingsError::invalid(field, reason);
    let url = url.trim();
    if url.is_empty() {
        return Err(invalid("the broker URL is empty"));
    }
    // url's errors never quote the input, so a password typed into it cannot leak here.
    let mut parsed = url::Url::parse(url).map_err(|e| {
        SettingsError::invalid(
            field,
            format!("not a URL ({e}); write it as amqps://host:port/vhost"),
        )
    })?;
    if !matches!(parsed.scheme(), "amqp" | "amqps") {
        return Err(invalid("must start with amqp:// or amqps://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("names no host"));
    }
    if parsed.password().is_some_and(|p| !p.is_empty()) {
        return Err(invalid(
            "contains a password: remove it from the URL and enter it in the password field, \
             which keeps it in the system keyring instead of the config file",
        ));
    }
    let in_url = percent_encoding::percent_decode_str(parsed.username())
        .decode_utf8_lossy()
        .into_owned();
    let user = match username.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) if !in_url.is_empty() && in_url != u => {
            return Err(invalid(&format!(
                "names the user {in_url:?} but the user name field says {u:?}; keep the user \
                 in the user name field only"
            )))
        }
        Some(u) => u.to_owned(),
        None => in_url,
    };
    let _ = parsed.set_password(None);
    parsed
        .set_username(&user)
        .map_err(|()| invalid("cannot hold a user name"))?;
    let joined = String::from(parsed);
    // What the bus will parse: refuse here whatever it would refuse there.
    <lapin::uri::AMQPUri as std::str::FromStr>::from_str(&joined)
        .map_err(|e| invalid(&format!("not an AMQP URL ({})", e.replace(&joined, "…"))))?;
    Ok(joined)
}

/// Whether two `amqp_url` values name the same broker, vhost and user (passwords and the
/// spelling of the URL aside).
pub(crate) fn same_login(a: &str, b: &str) -> bool {
    split(a) == split(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(
        "amqps://fedora:@rabbitmq.fedoraproject.org/%2Fpublic_pubsub",
        "amqps://rabbitmq.fedoraproject.org/%2Fpublic_pubsub",
        Some("fedora")
    )]
    #[case(
        "amqp://guest:guest@127.0.0.1:5672/%2f",
        "amqp://127.0.0.1:5672/%2f",
        Some("guest")
    )]
    #[case("amqp://localhost", "amqp://localhost", None)]
    #[case(
        "amqp://b%40b@h/v?heartbeat=30",
        "amqp://h/v?heartbeat=30",
        Some("b@b")
    )]
    fn url_split_drops_user_info(
        #[case] amqp_url: &str,
        #[case] url: &str,
        #[case] user: Option<&str>,
    ) {
        assert_eq!(split(amqp_url), (url.to_owned(), user.map(str::to_owned)));
    }

    #[test]
    fn url_split_never_shows_a_password_of_an_unparsable_url() {
        let (shown, user) = split("amqp://u:hunter2@[::1/x");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(user, None);
    }

    #[rstest]
    #[case("amqp://h/%2F", Some("bob"), "amqp://bob@h/%2F")]
    #[case("amqp://h/%2F", None, "amqp://h/%2F")]
    #[case("amqp://h/%2F", Some("  "), "amqp://h/%2F")]
    #[case("amqp://bob@h/%2F", None, "amqp://bob@h/%2F")]
    #[case("amqp://bob@h/%2F", Some("bob"), "amqp://bob@h/%2F")]
    #[case("amqps://h:5671/v", Some("a b@c"), "amqps://a%20b%40c@h:5671/v")]
    #[case("amqps://fedora:@h/v", None, "amqps://fedora@h/v")]
    fn url_join_puts_the_user_in(
        #[case] url: &str,
        #[case] user: Option<&str>,
        #[case] joined: &str,
    ) {
        assert_eq!(join(url, user, "f").expect("valid"), joined);
        assert_eq!(
            split(joined).1.as_deref(),
            user.map(str::trim)
                .filter(|u| !u.is_empty())
                .or(split(url).1.as_deref())
        );
    }

    #[rstest]
    #[case("amqps://u:hunter2@h/", "password field")]
    #[case("amqps://:hunter2@h/", "password field")]
    #[case("https://h/", "amqp://")]
    #[case("h:5672", "amqp://")]
    #[case("", "empty")]
    #[case("amqp://alice@h/", "user name field")]
    fn url_join_refuses(#[case] url: &str, #[case] reason: &str) {
        let err = join(url, Some("bob"), "connections.default.url").expect_err("refused");
        let shown = err.to_string();
        assert!(shown.starts_with("connections.default.url: "), "{shown}");
        assert!(shown.contains(reason), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(err.kind(), super::super::SettingsErrorKind::Invalid);
    }

    #[test]
    fn url_same_login_ignores_passwords_and_spelling() {
        assert!(same_login(
            "amqps://fedora:@rabbitmq.fedoraproject.org/%2Fpublic_pubsub",
            "amqps://fedora@rabbitmq.fedoraproject.org/%2Fpublic_pubsub"
        ));
        assert!(same_login("amqp://guest:guest@h/", "amqp://guest@h/"));
        assert!(!same_login("amqp://guest@h/", "amqp://other@h/"));
        assert!(!same_login("amqp://guest@h/a", "amqp://guest@h/b"));
    }
}
