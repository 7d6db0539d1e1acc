use super::*;
use rstest::rstest;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, Path::new("/test/config.toml"))
}

#[test]
fn empty_file_is_the_fedora_public_profile() {
    let cfg = parse("").expect("empty config parses");
    assert!(cfg.primary().fedora_public_profile);
    assert_eq!(cfg.primary().amqp_url, FEDORA_PUBLIC_URL);
    assert_eq!(
        cfg.primary().tls.ca_cert,
        Some(fedora_cert_dir().join("cacert.pem"))
    );
    assert!(cfg.primary().tls.has_client_cert());
    assert_eq!(cfg.primary().qos.prefetch_count, 25);
    let (name, q) = cfg.primary().queues.iter().next().expect("one queue");
    assert_eq!(name, GENERATED_QUEUE, "the install's own queue stands in");
    assert!(q.exclusive && q.auto_delete && !q.durable);
    assert_eq!(cfg.primary().bindings[0].exchange, "amq.topic");
    assert_eq!(cfg.primary().bindings[0].queue, *name);
    // Loading twice gives the same connection, so a reload does not look like a change.
    assert_eq!(parse("").expect("again").primary(), cfg.primary());
    let named = cfg.primary().clone().with_generated_queue("7b1c", None);
    assert!(named.queues.contains_key("7b1c") && !named.uses_generated_queue());
    assert_eq!(named.bindings[0].queue, "7b1c");
    assert!(
        named.queues["7b1c"].exclusive,
        "private when the broker refuses a kept one"
    );
    // Kept: it outlives the connection, with an expiry and a length limit of its own.
    let tuning = crate::config::CatchUpTuning::default();
    let kept = cfg
        .primary()
        .clone()
        .with_generated_queue("7b1c", Some(&tuning));
    let q = &kept.queues["7b1c"];
    assert!(q.durable && !q.exclusive && !q.auto_delete);
    assert_eq!(q.arguments["x-expires"].as_integer(), Some(3_600_000));
    assert_eq!(
        q.arguments["x-max-length-bytes"].as_integer(),
        Some(50 * 1024 * 1024)
    );
}

#[test]
fn the_shipped_example_parses_to_the_defaults() {
    let cfg = parse(EXAMPLE_CONFIG).expect("example parses");
    assert!(cfg.primary().fedora_public_profile);
    assert_eq!(cfg.herald, HeraldSettings::default());
}

#[test]
fn reads_a_fedora_messaging_config_unchanged() {
    // The shape of fedora-messaging's own configs/fedora.toml, with keys Herald ignores.
    let text = r#"
amqp_url = "amqps://user:s3cret@broker.example.com/%2Fprivate"
callback = "fedora_messaging.example:printer"
passive_declares = false
publish_exchange = "amq.topic"
topic_prefix = ""

[tls]
ca_cert = "/etc/pki/ca.pem"
keyfile = "/etc/pki/key.pem"
certfile = "/etc/pki/cert.pem"

[client_properties]
app = "Example Application"
app_url = "https://example.com"

[exchanges."amq.topic"]
type = "topic"
durable = true
auto_delete = false
arguments = {}

[queues.my_queue]
durable = true
auto_delete = false
exclusive = false
arguments = {}

[[bindings]]
queue = "my_queue"
exchange = "amq.topic"
routing_keys = ["org.fedoraproject.prod.buildsys.#"]

[qos]
prefetch_size = 0
prefetch_count = 10

[log_config]
version = 1

[consumer_config]
example_key = "for my consumer"

[herald]
koji_web_base = "https://koji.fedoraproject.org/koji"
retention_days = 30
"#;
    let cfg = parse(text).expect("fedora-messaging config parses");
    assert!(!cfg.primary().fedora_public_profile);
    assert!(cfg.primary().tls.has_client_cert());
    assert_eq!(
        cfg.primary().client_properties["app"],
        "Example Application"
    );
    assert_eq!(cfg.primary().queues.len(), 1);
    assert!(cfg.primary().queues["my_queue"].durable);
    assert_eq!(
        cfg.primary().bindings[0].routing_keys,
        ["org.fedoraproject.prod.buildsys.#"]
    );
    assert_eq!(cfg.primary().qos.prefetch_count, 10);
    assert_eq!(cfg.herald.retention_days, 30);
    assert_eq!(
        cfg.redacted_url(),
        "amqps://user:***@broker.example.com/%2Fprivate"
    );
    assert!(!format!("{:?}", cfg.redacted_url()).contains("s3cret"));
}

#[test]
fn own_url_without_tls_does_not_inherit_fedora_certificates() {
    let cfg = parse("amqp_url = \"amqp://guest:guest@localhost\"").expect("parses");
    assert_eq!(cfg.primary().tls, Tls::default());
    assert_eq!(
        cfg.primary().queues.len(),
        1,
        "a private UUID queue is still declared"
    );
}

#[rstest]
#[case::bad_scheme("amqp_url = \"http://x\"", "amqp_url")]
#[case::half_client_cert("[tls]\ncertfile = \"/c.pem\"", "tls")]
#[case::unbound_queue(
    "[queues.a]\n[[bindings]]\nqueue = \"b\"\nexchange = \"amq.topic\"",
    "bindings"
)]
#[case::zero_batch("[herald]\nbatch_size = 0", "herald.batch_size")]
fn invalid_settings_name_their_key(#[case] text: &str, #[case] key: &str) {
    match parse(text) {
        Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key),
        other => panic!("expected an invalid {key}, got {other:?}"),
    }
}

#[test]
fn syntax_errors_name_the_file() {
    let err = parse("amqp_url = ").expect_err("bad toml");
    assert!(err.to_string().contains("/test/config.toml"), "{err}");
}

#[test]
fn unknown_herald_keys_are_rejected() {
    assert!(matches!(
        parse("[herald]\nretension_days = 3"),
        Err(ConfigError::Parse { .. })
    ));
}

#[test]
fn missing_file_writes_the_commented_example() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sub/config.toml");
    let cfg = Config::load(&path, true).expect("defaults");
    assert!(cfg.primary().fedora_public_profile);
    let written = std::fs::read_to_string(&path).expect("example written");
    assert_eq!(written, EXAMPLE_CONFIG);
    assert!(
        Config::load(&path, true)
            .expect("reloads")
            .primary()
            .fedora_public_profile
    );
}

#[test]
fn profile_rules_and_extra_connections() {
    let text = r#"
[herald.profile]
users = ["alice"]
packages = ["python-requests"]

[[herald.rules]]
id = "koji-mine"
disabled = true

[[herald.rules]]
id = "quiet-docs"
action = "drop"
priority = 10
packages = ["python-requests-doc"]

[herald.connections.internal]
amqp_url = "amqps://koji.example.com/%2Finternal"
[herald.connections.internal.queues.herald]
durable = true
[[herald.connections.internal.bindings]]
queue = "herald"
exchange = "pulp.api.v2"
routing_keys = ["tasks.#"]
"#;
    let cfg = parse(text).expect("parses");
    assert_eq!(cfg.connections.len(), 2);
    assert_eq!(cfg.connections[1].name, "internal");
    assert!(cfg.connections[1].tls.certfile.is_none());
    assert_eq!(cfg.pulp_connections(), ["internal"]);
    let ids =
        |conn: &str| -> Vec<String> { cfg.rules_for(conn).into_iter().map(|r| r.id).collect() };
    assert_eq!(ids(PRIMARY)[0], "quiet-docs");
    assert!(!ids(PRIMARY).contains(&"koji-mine".to_owned()));
    assert!(!ids(PRIMARY).iter().any(|id| id.starts_with("pulp")));
    assert!(ids("internal").iter().any(|id| id.starts_with("pulp")));
    assert_eq!(cfg.unmatched(), crate::filter::Action::Drop);
    assert!(cfg.rule_set("internal").is_ok());
}

#[test]
fn no_profile_and_no_rules_keeps_everything() {
    let cfg = parse("amqp_url = \"amqp://localhost\"").expect("parses");
    assert!(cfg.effective_rules().is_empty());
    assert_eq!(cfg.unmatched(), crate::filter::Action::History);
}

#[rstest]
#[case::rule_typo("[[herald.rules]]\nid = \"x\"\ntopic = [\"a\"]\n", "topic")]
#[case::connection_without_url("[herald.connections.x]\n", "herald.connections.x.amqp_url")]
#[case::profile_typo("[herald.profile]\nuser = [\"a\"]\n", "user")]
fn refuses_bad_rules_and_connections(#[case] text: &str, #[case] needle: &str) {
    let err = parse(text).expect_err("refused");
    let chain = crate::error::error_chain(&err);
    assert!(chain.contains(needle), "{chain}");
}

#[test]
fn a_tilde_in_the_database_path_means_home() {
    let with = |db: &str| HeraldSettings {
        database: Some(PathBuf::from(db)),
        ..HeraldSettings::default()
    };
    let expanded = with("~/herald/history.db").database_path();
    match std::env::var_os("HOME").map(PathBuf::from) {
        Some(home) => assert_eq!(expanded, Some(home.join("herald/history.db"))),
        None => assert_eq!(expanded, Some(PathBuf::from("~/herald/history.db"))),
    }
    assert_eq!(
        with("/var/h.db").database_path(),
        Some(PathBuf::from("/var/h.db"))
    );
    assert_eq!(HeraldSettings::default().database_path(), None);
}

#[test]
fn known_hosts_default_to_fedora_and_are_checked() {
    let cfg = parse("").expect("defaults");
    let ctx = cfg.render_context();
    assert!(ctx.trusts(
        "bodhi",
        "https://bodhi.fedoraproject.org/updates/FEDORA-2024-1"
    ));
    assert!(!ctx.trusts("bodhi", "https://bodhi.example/updates/FEDORA-2024-1"));
    let cfg = parse(
        "[herald]\nkoji_web_base = \"https://brew.example.com/brew\"\n\
         [herald.hosts]\ncopr = [\"https://copr.example.org\"]\n",
    )
    .expect("own hosts");
    let ctx = cfg.render_context();
    assert!(ctx.trusts("copr", "https://copr.example.org/coprs/a/b/build/1/"));
    assert!(!ctx.trusts("copr", "https://copr.fedorainfracloud.org/coprs/a/b/"));
    assert!(ctx.trusts("koji", "https://brew.example.com/brew/buildinfo?buildID=1"));
    assert!(ctx.trusts("koji", "https://koji.fedoraproject.org/koji/x"));
    for bad in [
        "smb://copr.example.org",
        "copr.example.org",
        "https://u:p@copr.example.org",
    ] {
        let err = parse(&format!("[herald.hosts]\ncopr = [\"{bad}\"]\n")).expect_err(bad);
        assert!(err.to_string().contains("herald.hosts.copr"), "{err}");
    }
}
