//! Secrets against a real Secret Service: gnome-keyring-daemon on a private session bus with a
//! throw-away HOME. `herald_core::secrets::SecretStore` stores a password and a key
//! passphrase, another process reads them back, `secret-tool` sees them under Herald's app id
//! from outside, no file under HOME holds them in clear, and deleting removes them. Without a
//! Secret Service every operation fails clearly instead of pretending. Each secret carries
//! the address it was saved for as attributes (seen from outside with `secret-tool`), is
//! refused for any other address, and one saved before secrets were bound is bound to the
//! first (saved) address that asks.
//!
//! The store talks to whatever `DBUS_SESSION_BUS_ADDRESS` names, so each step runs in a child
//! process — this test binary again, running only [`secret_store_phase`] — started with a
//! clean environment that points at the private bus and HOME, never the developer's keyring.

use herald_core::secrets::{Backend, Binding, Secret, SecretKind, SecretStore, SERVICE};
use herald_core::SecretError;
use herald_e2e::keyring::{secret_tool_lookup, DesktopHome, GnomeKeyring};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Which step [`secret_store_phase`] runs; unset, it does nothing.
const PHASE: &str = "HERALD_E2E_SECRETS_PHASE";
const CONNECTION: &str = "HERALD_E2E_SECRETS_CONNECTION";
const PASSWORD: &str = "HERALD_E2E_SECRETS_PASSWORD";
/// The name of the test the child process runs.
const PHASE_TEST: &str = "secret_store_phase";
const PHASE_TIMEOUT: Duration = Duration::from_secs(60);

/// The key passphrase stored beside `password`.
fn passphrase_for(password: &str) -> String {
    format!("{password} (key)")
}

/// The address the phases store secrets for.
const SAVED_FOR: &str = "amqps://alice@broker.example/%2Fpub";

fn binding(url: &str) -> Binding {
    Binding::of_url(url).expect("a broker URL")
}

fn user(connection: &str, kind: SecretKind) -> String {
    herald_core::secrets::keyring_user(connection, kind)
}

/// Runs `phase` of [`secret_store_phase`] in a child process on `home`; panics with its
/// output unless it passed. Returns stdout and stderr together.
fn run_phase(home: &DesktopHome, phase: &str, connection: &str, password: &str) -> String {
    let exe = std::env::current_exe().expect("this test binary");
    let logs = tempfile::tempdir().expect("tempdir for the child's output");
    let (out_path, err_path) = (logs.path().join("stdout"), logs.path().join("stderr"));
    let file = |p: &Path| std::fs::File::create(p).expect("child output file");
    let mut child = home
        .command(&exe)
        .args(["--exact", PHASE_TEST, "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(PHASE, phase)
        .env(CONNECTION, connection)
        .env(PASSWORD, password)
        .current_dir(home.home())
        .stdin(Stdio::null())
        .stdout(file(&out_path))
        .stderr(file(&err_path))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot re-run {}: {e}", exe.display()));
    let deadline = Instant::now() + PHASE_TIMEOUT;
    let status: ExitStatus = loop {
        if let Some(status) = child.try_wait().expect("wait for the phase") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "phase {phase} hung for {PHASE_TIMEOUT:?}:\n{}",
                read_output(&out_path, &err_path)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = read_output(&out_path, &err_path);
    assert!(
        status.success(),
        "phase {phase} failed ({status}):\n{output}"
    );
    // Guard against a filter that matched nothing: that would "pass" too.
    assert!(
        output.contains(&format!("test {PHASE_TEST} ... ok")) && output.contains("1 passed"),
        "phase {phase} did not run {PHASE_TEST}:\n{output}"
    );
    output
}

fn read_output(stdout: &Path, stderr: &Path) -> String {
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    format!("--- stdout\n{}\n--- stderr\n{}", read(stdout), read(stderr))
}

/// A unique connection name and a password with every kind of character a URL or a shell
/// could trip on.
fn names() -> (String, String) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    (
        format!("e2e-{}", &id[..12]),
        format!("p@ss:wörd/%41 #?&=+ \"'\\ {id}"),
    )
}

#[test]
fn passwords_round_trip_through_a_real_secret_service() {
    let home = DesktopHome::start();
    let _keyring = GnomeKeyring::start(&home, "unlock-the-login-keyring");
    let (connection, password) = names();
    let passphrase = passphrase_for(&password);
    let lookup = |kind| {
        secret_tool_lookup(
            &home,
            &[("service", SERVICE), ("username", &user(&connection, kind))],
        )
    };

    let stored = run_phase(&home, "store", &connection, &password);

    // Seen from outside the process, under Herald's app id and the documented user names.
    assert!(
        lookup(SecretKind::Password).as_deref() == Some(password.as_str()),
        "secret-tool does not find the password Herald stored"
    );
    assert!(
        lookup(SecretKind::KeyPassphrase).as_deref() == Some(passphrase.as_str()),
        "secret-tool does not find the key passphrase Herald stored"
    );
    // Persisted to disk, encrypted: the keyring file exists, and no file holds either secret
    // in clear (config, cache, keyrings, anything else under HOME).
    let keyrings: Vec<_> = std::fs::read_dir(home.keyrings_dir())
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(
        keyrings
            .iter()
            .any(|p| p.extension().is_some_and(|x| x == "keyring")),
        "gnome-keyring wrote no keyring file; files under HOME: {:#?}",
        home.files()
    );
    for secret in [&password, &passphrase] {
        let leaked = home.files_containing(secret.as_bytes());
        assert!(leaked.is_empty(), "a secret is in clear in {leaked:#?}");
    }
    assert!(
        !stored.contains(&password),
        "the store phase printed the password"
    );

    // A later process reads them back, then deletes them.
    let deleted = run_phase(&home, "read-delete", &connection, &password);
    assert!(
        !deleted.contains(&password),
        "the read-delete phase printed the password"
    );
    assert_eq!(lookup(SecretKind::Password), None, "password not deleted");
    assert_eq!(
        lookup(SecretKind::KeyPassphrase),
        None,
        "passphrase not deleted"
    );
}

#[test]
fn secrets_are_bound_to_the_address_they_were_saved_for() {
    let home = DesktopHome::start();
    let _keyring = GnomeKeyring::start(&home, "unlock-the-login-keyring");
    let (connection, password) = names();
    let output = run_phase(&home, "binding", &connection, &password);
    assert!(
        !output.contains(&password),
        "the binding phase printed the password"
    );
    // From outside: the attributes name the address, and find the item by it.
    let attributes = |kind, host: &str| {
        secret_tool_lookup(
            &home,
            &[
                ("service", SERVICE),
                ("username", &user(&connection, kind)),
                ("scheme", "amqps"),
                ("host", host),
                ("port", "5671"),
                ("vhost", "/pub"),
                ("user", "alice"),
            ],
        )
    };
    assert_eq!(
        attributes(SecretKind::Password, "other.example").as_deref(),
        Some(password.as_str()),
        "the password's attributes name the address it was last saved for"
    );
    assert_eq!(attributes(SecretKind::Password, "broker.example"), None);
    assert_eq!(
        attributes(SecretKind::KeyPassphrase, "broker.example").as_deref(),
        Some(passphrase_for(&password).as_str()),
        "the unbound item was bound to the address that asked first"
    );
}

#[test]
fn without_a_secret_service_nothing_pretends_to_be_saved() {
    // A bus and HOME, but no keyring daemon on the bus (and nothing to auto-start one).
    let home = DesktopHome::start();
    let (connection, password) = names();
    let output = run_phase(&home, "unavailable", &connection, &password);
    assert!(!output.contains(&password), "the password was printed");
    assert!(home.files_containing(password.as_bytes()).is_empty());
}

/// One step of the tests above, in a child process whose environment points at their
/// private bus and HOME. Does nothing unless [`PHASE`] is set, so a plain
/// `cargo test -- --ignored` never touches your own keyring.
#[test]
#[ignore = "a step of the keyring tests, run by them in a child process"]
fn secret_store_phase() {
    let Ok(phase) = std::env::var(PHASE) else {
        eprintln!("{PHASE} is not set: nothing to do outside the keyring tests");
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let connection = var(CONNECTION);
    let password = Secret::new(var(PASSWORD));
    let passphrase = Secret::new(passphrase_for(password.expose()));
    let store = SecretStore::new();
    let here = binding(SAVED_FOR);
    // keyring 3 built without a backend feature would use its in-memory mock: prove it did not.
    assert_eq!(store.backend(), Backend::SecretService);
    assert!(store.backend_is_persistent());

    // Comparisons are by hand so that a failure never prints a secret.
    let same = |got: Option<Secret<String>>, want: &Secret<String>| {
        got.is_some_and(|g| g.expose() == want.expose())
    };
    match phase.as_str() {
        "store" => {
            for kind in SecretKind::ALL {
                let before = store
                    .get(&connection, kind, &here)
                    .expect("read before storing");
                assert!(before.is_none(), "{kind} exists before it was stored");
            }
            store
                .set(&connection, SecretKind::Password, &here, &password)
                .expect("store the password");
            store
                .set(&connection, SecretKind::KeyPassphrase, &here, &passphrase)
                .expect("store the key passphrase");
            // Storing again replaces the item rather than adding a second (ambiguous) one.
            store
                .set(&connection, SecretKind::Password, &here, &password)
                .expect("store the password again");
            let got = store
                .get(&connection, SecretKind::Password, &here)
                .expect("read");
            assert!(same(got, &password), "read back a different password");
            let got = store
                .get(&connection, SecretKind::KeyPassphrase, &here)
                .expect("read");
            assert!(same(got, &passphrase), "read back a different passphrase");
            // Another connection's entries are separate.
            let other = format!("{connection}-other");
            assert!(store
                .get(&other, SecretKind::Password, &here)
                .expect("read")
                .is_none());
        }
        "read-delete" => {
            let got = store
                .get(&connection, SecretKind::Password, &here)
                .expect("read");
            assert!(same(got, &password), "the stored password did not persist");
            let got = store
                .get(&connection, SecretKind::KeyPassphrase, &here)
                .expect("read");
            assert!(
                same(got, &passphrase),
                "the stored passphrase did not persist"
            );
            assert_eq!(store.delete_all(&connection).expect("delete"), 2);
            for kind in SecretKind::ALL {
                assert!(store.get(&connection, kind, &here).expect("read").is_none());
                assert!(!store.delete(&connection, kind).expect("delete again"));
            }
        }
        "binding" => {
            let elsewhere = [
                "amqps://alice@evil.example/%2Fpub",
                "amqp://alice@broker.example:5671/%2Fpub",
                "amqps://alice@broker.example:5672/%2Fpub",
                "amqps://alice@broker.example/%2Fother",
                "amqps://mallory@broker.example/%2Fpub",
            ];
            store
                .set(&connection, SecretKind::Password, &here, &password)
                .expect("store bound");
            for url in elsewhere {
                let err = store
                    .get(&connection, SecretKind::Password, &binding(url))
                    .expect_err("another address gets nothing");
                assert!(matches!(err, SecretError::Elsewhere { .. }), "{url}: {err}");
                assert!(!format!("{err} {err:?}").contains(password.expose()));
                assert!(!store
                    .contains(&connection, SecretKind::Password, &binding(url))
                    .expect("contains"));
            }
            assert!(store
                .contains(&connection, SecretKind::Password, &here)
                .expect("contains"));
            // Saved again for another address, it leaves the first one.
            let moved = binding("amqps://alice@other.example/%2Fpub");
            store
                .set(&connection, SecretKind::Password, &moved, &password)
                .expect("store for another address");
            assert!(store.get(&connection, SecretKind::Password, &here).is_err());
            let got = store
                .get(&connection, SecretKind::Password, &moved)
                .expect("read");
            assert!(same(got, &password), "read back a different password");

            // Saved before secrets were bound (a bare keyring item): bound to the first
            // address that asks, and refused to every other one from then on.
            let legacy =
                keyring::Entry::new(SERVICE, &user(&connection, SecretKind::KeyPassphrase))
                    .expect("entry");
            legacy
                .set_password(passphrase.expose())
                .expect("store an unbound item");
            assert!(store
                .contains(
                    &connection,
                    SecretKind::KeyPassphrase,
                    &binding(elsewhere[0])
                )
                .expect("contains"));
            let got = store
                .get(&connection, SecretKind::KeyPassphrase, &here)
                .expect("read and bind");
            assert!(same(got, &passphrase), "read back a different passphrase");
            let err = store
                .get(
                    &connection,
                    SecretKind::KeyPassphrase,
                    &binding(elsewhere[0]),
                )
                .expect_err("now bound");
            assert!(matches!(err, SecretError::Elsewhere { .. }), "{err}");
        }
        "unavailable" => {
            let failures = [
                store
                    .set(&connection, SecretKind::Password, &here, &password)
                    .err(),
                store.get(&connection, SecretKind::Password, &here).err(),
                store.delete(&connection, SecretKind::KeyPassphrase).err(),
            ];
            for err in failures {
                let err = err.expect("no Secret Service, so no success");
                let shown = format!("{err}");
                assert!(
                    matches!(err, SecretError::Unavailable { .. }),
                    "{shown} / {err:?}"
                );
                assert!(shown.contains(&connection), "{shown}");
                assert!(shown.contains("Secret Service"), "{shown}");
                assert!(!format!("{shown} {err:?}").contains(password.expose()));
                eprintln!("as expected: {shown}");
            }
        }
        other => panic!("unknown phase {other:?}"),
    }
}
