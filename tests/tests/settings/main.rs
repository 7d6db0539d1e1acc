//! The settings window's core against real services: "Test connection" on the system
//! RabbitMQ (connected, refused, no answer in time, TLS spoken to a plain port, unknown
//! vhost), and passwords taken from a real Secret Service (gnome-keyring on a private
//! session bus) by the probe, by `bus::connect` as the pipeline calls it and by
//! `Settings::load` — a wrong one reported as an authentication failure whose text never
//! holds the password. A TLS client key encrypted by OpenSSL is opened with the passphrase
//! from the keyring against a private broker that logs users in by certificate.
//!
//! The keyring steps run in a child process (this binary again, running only
//! [`settings_keyring_phase`]) whose environment points at the private bus and HOME, as in
//! `secrets.rs`, so the developer's own keyring is never touched.

use herald_core::bus::{self, Credentials};
use herald_core::config::{Config, PRIMARY};
use herald_core::secrets::{Binding, Secret, SecretKind, SecretStore};
use herald_core::settings::{self, Settings, Typed};
use herald_e2e::broker::{system_amqp_url, wait_for_system_broker, PrivateBroker};
use herald_e2e::certs::{Certs, CLIENT_CN};
use herald_e2e::fault_proxy::TcpRecorder;
use herald_e2e::keyring::{DesktopHome, GnomeKeyring};
use lapin::uri::AMQPUri;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const PHASE: &str = "HERALD_E2E_SETTINGS_PHASE";
const WRONG: &str = "HERALD_E2E_SETTINGS_WRONG";
const RIGHT: &str = "HERALD_E2E_SETTINGS_RIGHT";
const CONFIG: &str = "HERALD_E2E_SETTINGS_CONFIG";
const AT: &str = "HERALD_E2E_SETTINGS_AT";
const PHASE_TEST: &str = "settings_keyring_phase";
const PHASE_TIMEOUT: Duration = Duration::from_secs(90);
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the system broker is and who logs in there.
struct Login {
    user: String,
    password: String,
    host: String,
    port: u16,
}

impl Login {
    fn system() -> Login {
        let uri: AMQPUri = system_amqp_url().parse().expect("system broker URL");
        Login {
            user: uri.authority.userinfo.username,
            password: uri.authority.userinfo.password,
            host: uri.authority.host,
            port: uri.authority.port,
        }
    }

    fn at(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// `amqp://user@host:port/<vhost>`, without the password.
    fn url(&self, vhost: &str) -> String {
        format!("amqp://{}@{}/{vhost}", self.user, self.at())
    }

    /// The same with the password in the URL, as a config may still have it.
    fn url_with_password(&self, vhost: &str) -> String {
        format!(
            "amqp://{}:{}@{}/{vhost}",
            self.user,
            self.password,
            self.at()
        )
    }
}

fn connection(amqp_url: &str) -> herald_core::config::Connection {
    let text = format!("amqp_url = {amqp_url:?}\n");
    Config::from_toml(&text, Path::new("test.toml"))
        .expect("config")
        .primary()
        .clone()
}

mod probe;

#[tokio::test]
async fn passwords_come_from_the_keyring_and_never_show() {
    wait_for_system_broker().await;
    let home = DesktopHome::start();
    let _keyring = GnomeKeyring::start(&home, "unlock-the-login-keyring");
    let wrong = format!("wrong-{}", uuid::Uuid::new_v4().simple());

    let output = run_phase(
        &home,
        "keyring",
        &[
            (WRONG, wrong.clone()),
            ("HERALD_TEST_AMQP_URL", system_amqp_url()),
        ],
    );
    assert!(!output.contains(&wrong), "the wrong password was printed");
    assert!(home.files_containing(wrong.as_bytes()).is_empty());
}

/// Runs `phase` of [`settings_keyring_phase`] in a child process on `home`'s bus and HOME
/// with `env`; panics with its output unless it passed. Returns stdout and stderr.
fn run_phase(home: &DesktopHome, phase: &str, env: &[(&str, String)]) -> String {
    let exe = std::env::current_exe().expect("this test binary");
    let logs = tempfile::tempdir().expect("tempdir");
    let (out_path, err_path) = (logs.path().join("stdout"), logs.path().join("stderr"));
    let file = |p: &Path| std::fs::File::create(p).expect("child output file");
    let mut child = home
        .command(&exe)
        .args(["--exact", PHASE_TEST, "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(PHASE, phase)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(home.home())
        .stdin(Stdio::null())
        .stdout(file(&out_path))
        .stderr(file(&err_path))
        .spawn()
        .expect("re-run this test binary");
    let deadline = Instant::now() + PHASE_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("phase {phase} hung for {PHASE_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    let output = format!(
        "--- stdout\n{}\n--- stderr\n{}",
        read(&out_path),
        read(&err_path)
    );
    assert!(
        status.success(),
        "phase {phase} failed ({status}):\n{output}"
    );
    // Guard against a filter that matched nothing: that would "pass" too.
    assert!(
        output.contains(&format!("test {PHASE_TEST} ... ok")) && output.contains("1 passed"),
        "phase {phase} did not run:\n{output}"
    );
    output
}

#[test]
fn encrypted_client_keys_open_with_the_keyring_passphrase() {
    let certs_dir = tempfile::tempdir().expect("tempdir");
    let certs = Certs::generate(certs_dir.path());
    let broker = PrivateBroker::with_tls(&certs);
    broker.add_user_for_cert(CLIENT_CN);
    let passphrase = format!("key {}", uuid::Uuid::new_v4().simple());
    let wrong = format!("not-it-{}", uuid::Uuid::new_v4().simple());
    // Encrypted the way people do it, by OpenSSL (PBES2: PBKDF2-SHA256, AES-256-CBC).
    let encrypted = certs_dir.path().join("client-key-encrypted.pem");
    let out = std::process::Command::new("openssl")
        .args([
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "env:HERALD_E2E_KEY_PASS",
        ])
        .arg("-in")
        .arg(certs.client_key_path())
        .arg("-out")
        .arg(&encrypted)
        .env("HERALD_E2E_KEY_PASS", &passphrase)
        .output()
        .expect("openssl runs (Debian/Fedora package openssl)");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pem = std::fs::read_to_string(&encrypted).expect("encrypted key");
    assert!(
        pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{pem}"
    );

    let home = DesktopHome::start();
    let _keyring = GnomeKeyring::start(&home, "unlock-the-login-keyring");
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let config = format!(
        "amqp_url = \"amqps://localhost:{}/%2F\"\n[tls]\nca_cert = {:?}\ncertfile = {:?}\n\
         keyfile = {:?}\n",
        broker.amqps_port(),
        path(&certs.ca_path()),
        path(&certs.client_cert_path()),
        path(&encrypted),
    );
    let output = run_phase(
        &home,
        "tls-key",
        &[
            (CONFIG, config),
            (WRONG, wrong.clone()),
            (RIGHT, passphrase.clone()),
            (AT, format!("localhost:{}", broker.amqps_port())),
        ],
    );
    for secret in [&passphrase, &wrong] {
        assert!(
            !output.contains(secret.as_str()),
            "a passphrase was printed"
        );
        assert!(home.files_containing(secret.as_bytes()).is_empty());
    }
}

/// "Test connection" of the connection as the config saves it, with the keyring's secrets.
fn probe_saved(
    rt: &tokio::runtime::Runtime,
    conn: &herald_core::config::Connection,
    store: &SecretStore,
) -> herald_core::settings::TestResult {
    rt.block_on(bus::probe(
        conn,
        &Credentials::keyring(store),
        PROBE_TIMEOUT,
    ))
}

/// The keyring step of [`passwords_come_from_the_keyring_and_never_show`], in a child
/// process on the private bus and HOME. Does nothing unless [`PHASE`] is set.
#[test]
#[ignore = "a step of the keyring test, run by it in a child process"]
fn settings_keyring_phase() {
    let Ok(phase) = std::env::var(PHASE) else {
        eprintln!("{PHASE} is not set: nothing to do outside the keyring test");
        return;
    };
    if phase == "tls-key" {
        return tls_key_phase();
    }
    assert_eq!(phase, "keyring");
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let wrong = Secret::new(var(WRONG));
    let login = Login::system();
    let right = Secret::new(login.password.clone());
    let (at, user) = (login.at(), login.user.clone());

    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, format!("amqp_url = {:?}\n", login.url("%2F"))).expect("config");
    let cfg = Config::load(&config_path, false).expect("config loads");
    let conn = cfg.primary().clone();
    let store = SecretStore::new();
    let rt = tokio::runtime::Runtime::new().expect("runtime");

    // No password stored: the broker refuses, and the answer says what to do.
    let r = probe_saved(&rt, &conn, &store);
    assert!(!r.ok);
    assert!(
        r.message.starts_with("Authentication failed")
            && r.message.contains("No password is stored"),
        "{}",
        r.message
    );
    let s = Settings::load(&config_path, &store).expect("settings load");
    assert!(!s.connections[0].has_password);

    // A wrong password: authentication failed, and the password is nowhere in the text.
    let saved_for = Binding::of_url(&conn.amqp_url).expect("binding");
    store
        .set(PRIMARY, SecretKind::Password, &saved_for, &wrong)
        .expect("store the wrong password");
    let r = probe_saved(&rt, &conn, &store);
    assert!(!r.ok);
    assert!(
        r.message.starts_with(&format!(
            "Authentication failed: {at} refused the login of {user}"
        )),
        "{}",
        r.message
    );
    assert!(r.message.contains("was not accepted"), "{}", r.message);
    assert!(!r.message.contains(wrong.expose()));
    let err = rt
        .block_on(bus::connect(&conn))
        .expect_err("a wrong password cannot log in");
    let shown = format!("{} / {err:?}", herald_core::pipeline::error_chain(&err));
    assert!(
        !shown.contains(wrong.expose()),
        "the password leaked into the error"
    );
    eprintln!("as expected: {}", herald_core::pipeline::error_chain(&err));

    // The right one: the pipeline's connect, the probe and the settings all see it.
    store
        .set(PRIMARY, SecretKind::Password, &saved_for, &right)
        .expect("store the password");
    let c = rt
        .block_on(bus::connect(&conn))
        .expect("bus::connect logs in with the keyring password");
    rt.block_on(c.close(200, "test done".into()))
        .expect("close");
    let r = probe_saved(&rt, &conn, &store);
    assert!(r.ok, "{}", r.message);
    assert!(
        r.message
            .starts_with(&format!("Connected to {at} as {user} (RabbitMQ ")),
        "{}",
        r.message
    );
    let s = Settings::load(&config_path, &store).expect("settings load");
    let d = &s.connections[0];
    assert!(d.has_password && !d.has_key_passphrase);
    assert_eq!(d.username.as_deref(), Some(user.as_str()));
    let r = rt.block_on(settings::probe(
        d,
        Typed::default(),
        &config_path,
        &store,
        PROBE_TIMEOUT,
    ));
    assert!(r.ok, "{}", r.message);

    // The same name and user at another address (a recorder in front of the same broker):
    // the stored password is not sent there, typed for the test it is.
    let plain = |password: &str| format!("\0{user}\0{password}").into_bytes();
    let recorder = TcpRecorder::start(at.parse().expect("broker address"));
    let mut elsewhere = d.clone();
    elsewhere.url = d
        .url
        .replacen(&at, &format!("127.0.0.1:{}", recorder.port()), 1);
    assert_ne!(elsewhere.url, d.url);
    let r = rt.block_on(settings::probe(
        &elsewhere,
        Typed::default(),
        &config_path,
        &store,
        PROBE_TIMEOUT,
    ));
    assert!(!r.ok, "{}", r.message);
    assert!(
        r.message.contains("not the saved settings"),
        "{}",
        r.message
    );
    assert_eq!(
        recorder.connections(),
        2,
        "greeting and login went through the recorder"
    );
    assert!(
        !recorder.saw(&plain(right.expose())),
        "the stored password was sent to another address"
    );
    let r = rt.block_on(settings::probe(
        &elsewhere,
        Typed {
            password: Some(right.expose().clone()),
            key_passphrase: None,
        },
        &config_path,
        &store,
        PROBE_TIMEOUT,
    ));
    assert!(r.ok, "{}", r.message);
    assert!(
        recorder.saw(&plain(right.expose())),
        "the recorder records logins"
    );
    // The keyring itself refuses the other address.
    let other = Binding::of_url(&format!("amqp://{user}@127.0.0.1:{}/%2F", recorder.port()))
        .expect("binding");
    assert!(store.get(PRIMARY, SecretKind::Password, &other).is_err());
    // Saving what was loaded changes nothing, and no password reaches the file.
    assert!(!settings::save(&config_path, &s).expect("save").changed);
    let text = std::fs::read_to_string(&config_path).expect("read");
    assert_eq!(text, format!("amqp_url = {:?}\n", login.url("%2F")));
}

/// The child side of [`encrypted_client_keys_open_with_the_keyring_passphrase`].
fn tls_key_phase() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let (wrong, right) = (Secret::new(var(WRONG)), Secret::new(var(RIGHT)));
    let at = var(AT);
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, var(CONFIG)).expect("config");
    let conn = Config::load(&config_path, false)
        .expect("config loads")
        .primary()
        .clone();
    let store = SecretStore::new();
    let saved_for = Binding::of_url(&conn.amqp_url).expect("binding");
    let rt = tokio::runtime::Runtime::new().expect("runtime");

    let r = probe_saved(&rt, &conn, &store);
    assert!(!r.ok);
    assert!(
        r.message
            .contains("is encrypted, and no key passphrase is stored"),
        "{}",
        r.message
    );

    store
        .set(PRIMARY, SecretKind::KeyPassphrase, &saved_for, &wrong)
        .expect("store the wrong passphrase");
    let err = rt
        .block_on(bus::connect(&conn))
        .expect_err("a wrong passphrase opens nothing");
    let shown = format!("{} / {err:?}", herald_core::pipeline::error_chain(&err));
    assert!(shown.contains("does not open it"), "{shown}");
    assert!(
        !shown.contains(wrong.expose()),
        "the passphrase leaked into the error"
    );
    eprintln!("as expected: {}", herald_core::pipeline::error_chain(&err));

    store
        .set(PRIMARY, SecretKind::KeyPassphrase, &saved_for, &right)
        .expect("store the passphrase");
    let r = probe_saved(&rt, &conn, &store);
    assert!(r.ok, "{}", r.message);
    assert!(
        r.message.starts_with(&format!(
            "Connected to {at} as the client certificate's user (RabbitMQ "
        )),
        "{}",
        r.message
    );
    let c = rt
        .block_on(bus::connect(&conn))
        .expect("bus::connect opens the key with the stored passphrase");
    rt.block_on(c.close(200, "test done".into()))
        .expect("close");
    let s = Settings::load(&config_path, &store).expect("settings load");
    assert!(s.connections[0].has_key_passphrase && !s.connections[0].has_password);
}
