//! The keyring wrapper's own checks: redaction, names, the in-memory mock refused, URLs.
use super::*;
use lapin::uri::AMQPUri;
use proptest::prelude::*;
use rstest::rstest;
use std::str::FromStr;

fn secret(s: &str) -> Secret<String> {
    Secret::new(s.to_owned())
}

#[test]
fn secret_debug_and_display_are_redacted() {
    #[derive(Debug)]
    #[allow(dead_code)]
    struct Login {
        user: String,
        password: Secret<String>,
        passphrase: Option<Secret<String>>,
    }
    let login = Login {
        user: "alice".into(),
        password: secret("hunter2"),
        passphrase: Some(secret("open sesame")),
    };
    for shown in [
        format!("{login:?}"),
        format!("{login:#?}"),
        format!("{}", login.password),
        format!("{:>20}", login.password),
        format!("{:?}", Secret::new(b"bytes".to_vec())),
    ] {
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("open sesame"), "{shown}");
        assert!(!shown.contains("bytes"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
    assert!(format!("{login:?}").contains("alice"));
    assert_eq!(login.password.expose(), "hunter2");
    assert_eq!(Secret::from(7).into_inner(), 7);
}

#[test]
fn secret_kinds_travel_as_snake_case_and_name_keyring_users_with_dashes() {
    let json = serde_json::to_string(&SecretKind::ALL).expect("serialise");
    assert_eq!(json, r#"["password","key_passphrase"]"#);
    let back: Vec<SecretKind> = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, SecretKind::ALL);
    assert!(serde_json::from_str::<SecretKind>(r#""key-passphrase""#).is_err());
    assert_eq!(SecretKind::KeyPassphrase.as_str(), "key-passphrase");
}

#[rstest]
#[case("default", SecretKind::Password, "default/password")]
#[case("default", SecretKind::KeyPassphrase, "default/key-passphrase")]
#[case("a/b", SecretKind::Password, "a/b/password")]
fn keyring_user_is_connection_then_kind(
    #[case] connection: &str,
    #[case] kind: SecretKind,
    #[case] user: &str,
) {
    assert_eq!(keyring_user(connection, kind), user);
}

/// keyring 3 without a backend feature silently falls back to its in-memory mock.
#[cfg(target_os = "linux")]
#[test]
fn linux_builds_use_the_secret_service_not_the_mock() {
    let store = SecretStore::new();
    assert_eq!(store.service(), "org.fedoraproject.Herald");
    assert_eq!(store.backend(), Backend::SecretService);
    assert!(store.backend_is_persistent());
}

fn mock_entry() -> Entry {
    let credential = keyring::mock::default_credential_builder()
        .build(None, SERVICE, "default/password")
        .expect("mock credential");
    Entry::new_with_credential(credential)
}

#[test]
fn the_in_memory_mock_is_detected_and_refused() {
    let entry = mock_entry();
    assert_eq!(Backend::of(&entry), Backend::InMemory);
    assert!(!Backend::InMemory.is_persistent());
    let kind = SecretKind::Password;
    let refused = [
        set_entry(&entry, "default", kind, &secret("hunter2")).err(),
        get_entry(&entry, "default", kind).err(),
        delete_entry(&entry, "default", kind).err(),
    ];
    for err in refused {
        let err = err.expect("the mock is refused");
        assert!(matches!(err, SecretError::NotPersistent { .. }), "{err:?}");
        assert!(!format!("{err} {err:?}").contains("hunter2"));
        assert!(err.to_string().contains("\"default\""), "{err}");
    }
    // Nothing was written into the mock either.
    assert!(matches!(entry.get_password(), Err(keyring::Error::NoEntry)));
}

#[test]
fn a_connection_needs_a_name() {
    let err = SecretStore::new()
        .set(
            "",
            SecretKind::KeyPassphrase,
            &Binding::of_url("amqps://a@h/").expect("binding"),
            &secret("x"),
        )
        .expect_err("empty name");
    assert!(matches!(
        err,
        SecretError::NoConnectionName {
            kind: SecretKind::KeyPassphrase
        }
    ));
}

#[test]
fn bad_encoding_errors_drop_the_bytes() {
    let err = keyring_error(
        "read",
        "default",
        SecretKind::Password,
        keyring::Error::BadEncoding(b"hunter2\xff".to_vec()),
    );
    assert!(matches!(err, SecretError::NotText { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("hunter2"));
    assert!(!format!("{err:?}").contains("104, 117")); // "hu" as bytes
}

#[rstest]
#[case::plain("hunter2", "hunter2")]
#[case::unreserved("a-b.c_d~e", "a-b.c_d~e")]
#[case::at_and_colon("p@ss:word", "p%40ss%3Aword")]
#[case::slash_and_query("a/b?c#d", "a%2Fb%3Fc%23d")]
#[case::percent("100%41", "100%2541")]
#[case::space_plus_amp("a b+c&d=e", "a%20b%2Bc%26d%3De")]
#[case::non_ascii("pässwörd", "p%C3%A4ssw%C3%B6rd")]
#[case::brackets_quotes("[x]'\"\\", "%5Bx%5D%27%22%5C")]
fn apply_password_percent_encodes(#[case] password: &str, #[case] encoded: &str) {
    let url = "amqps://alice@broker.example:5671/%2Fpublic_pubsub?heartbeat=30";
    let with = apply_password(url, &secret(password)).expect("password applied");
    assert_eq!(
        with.expose(),
        &format!("amqps://alice:{encoded}@broker.example:5671/%2Fpublic_pubsub?heartbeat=30")
    );
    let uri = AMQPUri::from_str(with.expose()).expect("lapin parses it");
    assert_eq!(uri.authority.userinfo.password, password);
    assert_eq!(uri.authority.userinfo.username, "alice");
    assert_eq!(uri.authority.host, "broker.example");
    assert_eq!(uri.authority.port, 5671);
    assert_eq!(uri.vhost, "/public_pubsub");
    assert_eq!(uri.query.heartbeat, Some(30));
}

#[test]
fn apply_password_replaces_a_password_already_in_the_url() {
    let with = apply_password("amqp://bob:old@localhost/", &secret("n:ew")).expect("applied");
    assert_eq!(with.expose(), "amqp://bob:n%3Aew@localhost/");
    assert_eq!(format!("{with:?}"), "<redacted>");
}

#[rstest]
#[case::no_user("amqp://localhost/%2F", "names no user")]
#[case::empty_user("amqp://:old@localhost/%2F", "names no user")]
#[case::scheme("https://carol:old@localhost/", "not amqp")]
#[case::unparsable("amqp://carol:old@[::1/", "")]
fn apply_password_rejects_urls_without_leaking(#[case] url: &str, #[case] reason: &str) {
    let err = apply_password(url, &secret("hunter2")).expect_err("rejected");
    let shown = format!("{err} {err:?}");
    assert!(matches!(err, SecretError::Url { .. }), "{shown}");
    assert!(shown.contains(reason), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("old"), "{shown}");
}

#[test]
fn apply_password_rejects_an_empty_password() {
    let err = apply_password("amqp://dan@localhost/", &secret("")).expect_err("empty");
    assert!(err.to_string().contains("empty"), "{err}");
}

proptest! {
    #[test]
    fn any_password_survives_the_url(password in "\\PC{1,40}") {
        let with = apply_password("amqp://eve@localhost:5672/%2F", &Secret::new(password.clone()))
            .expect("applied");
        let uri = AMQPUri::from_str(with.expose()).expect("lapin parses it");
        prop_assert_eq!(&uri.authority.userinfo.password, &password);
        prop_assert_eq!(uri.authority.userinfo.username.as_str(), "eve");
        prop_assert_eq!(uri.vhost.as_str(), "/");
    }
}
