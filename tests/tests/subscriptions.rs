//! Profiles and rules end to end: the fixture corpus goes through the real broker to
//! `herald run`, and the history holds exactly the messages the rules select, each with the
//! rule that chose it — with header filters done by the broker (Herald's own headers
//! exchanges) and with the broker refusing them (client-side only). Changing the rules of a
//! running Herald re-binds without losing a message; several connections keep their own rules.

use herald_core::config::{Config, PRIMARY};
use herald_core::filter::Subject;
use herald_core::history::Entry;
use herald_core::message::Message;
use herald_core::recorded::Fixture;
use herald_e2e::broker::{unique, wait_for_system_broker};
use herald_e2e::herald::{
    all_fixtures, config_for, confirm_channel, declare_exchanges, fixture_exchanges, output_text,
    publish_fixture, publish_raw, rabbitmqctl, HeraldDir, Vhost,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::BasicProperties;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// Message id → the rule that kept it.
type Kept = BTreeMap<String, Option<String>>;

/// What the rules of `config` keep from `fixtures` arriving on `connection`, computed
/// without a broker.
fn selected_by_rules(config: &str, connection: &str, fixtures: &[(PathBuf, Fixture)]) -> Kept {
    let cfg = Config::from_toml(config, Path::new("test.toml")).expect("config parses");
    let rules = cfg.rule_set(connection).expect("rules compile");
    let ctx = cfg.render_context();
    let mut out = Kept::new();
    for (path, f) in fixtures {
        let env = f
            .envelope(time::OffsetDateTime::now_utc())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Entry::Stored(s) = Entry::new(Message::decode(env), &ctx) {
            let d = rules.evaluate(&Subject::of(&s));
            if d.action.keeps() {
                out.insert(s.msg.id.clone(), d.rule.as_deref().map(str::to_owned));
            }
        }
    }
    out
}

fn kept_in_history(dir: &HeraldDir) -> Kept {
    dir.search(&[])
        .into_iter()
        .map(|h| {
            (
                h["id"].as_str().expect("id").to_owned(),
                h["rule"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// The number in "dropped by rules N" of a `herald run` summary.
fn dropped(stderr: &str) -> usize {
    stderr
        .lines()
        .find_map(|l| l.split("dropped by rules ").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no run summary in:\n{stderr}"))
}

/// A vhost user who may not declare exchanges named `herald.*`, like a public broker that
/// only lets consumers declare their own queues.
struct RestrictedUser {
    name: String,
}

impl RestrictedUser {
    fn new(vhosts: &[&Vhost]) -> RestrictedUser {
        let name = unique("herald-restricted");
        rabbitmqctl(&["add_user", &name, "secret"]);
        for vhost in vhosts {
            rabbitmqctl(&[
                "set_permissions",
                "-p",
                &vhost.name,
                &name,
                "^(?!herald\\.).*",
                ".*",
                ".*",
            ]);
        }
        RestrictedUser { name }
    }

    fn url(&self, vhost: &Vhost) -> String {
        format!("amqp://{}:secret@127.0.0.1:5672/{}", self.name, vhost.name)
    }
}

impl Drop for RestrictedUser {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .args(["-q", "delete_user", &self.name])
            .output();
    }
}

/// Publishes the corpus to fresh vhosts consumed by a Herald with `profile` (TOML appended
/// to the config) and checks the history against the rules. The Koji messagebus fixtures
/// that use a headers exchange named like the topic one go through a second connection.
/// Returns the number of deliveries the rules dropped client-side.
async fn check_profile(profile: &str, server_side: bool) -> usize {
    wait_for_system_broker().await;
    let (headers_ex, others): (Vec<_>, Vec<_>) = all_fixtures()
        .into_iter()
        .partition(|(_, f)| f.exchange_type.as_deref() == Some("headers"));
    let (main, koji) = (Vhost::new(), Vhost::new());
    let restricted = (!server_side).then(|| RestrictedUser::new(&[&main, &koji]));
    let url = |v: &Vhost| restricted.as_ref().map_or_else(|| v.url(), |u| u.url(v));
    let exchanges = fixture_exchanges(&others);
    let ex_refs: Vec<(&str, &str)> = exchanges
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let kq = unique("herald-subs-koji");
    let config = format!(
        "{}\n[herald.connections.koji]\namqp_url = \"{}\"\n\
         [herald.connections.koji.exchanges.\"koji.events\"]\ntype = \"headers\"\n\
         [herald.connections.koji.queues.\"{kq}\"]\ndurable = true\n\
         [[herald.connections.koji.bindings]]\nqueue = \"{kq}\"\nexchange = \"koji.events\"\n\
         arguments = {{ \"x-match\" = \"all\" }}\n",
        config_for(&url(&main), &unique("herald-subs"), &ex_refs, profile),
        url(&koji),
    );
    let dir = HeraldDir::new(&config);
    let declared = dir.run(&["-v", "run", "--until-idle", "0.5"]);
    let declared_log = output_text(&declared);
    assert!(declared.status.success(), "declaring run: {declared_log}");
    if server_side {
        assert!(
            !declared_log.contains("header filters client-side"),
            "{declared_log}"
        );
    } else {
        assert!(
            declared_log.contains("header filters client-side"),
            "the refused exchange is reported: {declared_log}"
        );
    }

    for (vhost, fixtures) in [(&main, &others), (&koji, &headers_ex)] {
        let conn = vhost.connect().await;
        let ch = confirm_channel(&conn).await;
        declare_exchanges(&ch, &fixture_exchanges(fixtures)).await;
        for (_, f) in fixtures {
            publish_fixture(&ch, f).await;
        }
        let _ = conn.close(200, "done".into()).await;
    }
    let out = dir.run(&["run", "--until-idle", "1.5"]);
    assert!(out.status.success(), "herald run: {}", output_text(&out));

    let mut expected = selected_by_rules(&config, PRIMARY, &others);
    expected.extend(selected_by_rules(&config, "koji", &headers_ex));
    let total = others.len() + headers_ex.len();
    assert!(!expected.is_empty(), "the profile selects something");
    assert!(
        expected.len() < total / 2,
        "the profile narrows the corpus ({} of {total})",
        expected.len(),
    );
    let kept = kept_in_history(&dir);
    let missing: Vec<_> = expected.keys().filter(|k| !kept.contains_key(*k)).collect();
    let extra: Vec<_> = kept.keys().filter(|k| !expected.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    assert_eq!(kept, expected, "each message carries the rule that kept it");
    dropped(&String::from_utf8_lossy(&out.stderr))
}

/// Server-side narrowing delivers fewer messages for the client to drop, and both ways keep
/// the same set.
async fn both_ways(profile: &str) {
    let server = check_profile(profile, true).await;
    let client = check_profile(profile, false).await;
    assert!(
        server < client,
        "the broker filters: {server} dropped client-side with server-side filters, {client} without"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user() {
    both_ways("[herald.profile]\nusers = [\"spot\"]\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_package_list() {
    both_ways(
        "[herald.profile]\npackages = [\"chromium\", \"libreoffice\", \"asciinema\", \
         \"gnome-settings-daemon\", \"python-hypothesis\", \"glibc\"]\n",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group() {
    both_ways("[herald.profile]\ngroups = [\"python-sig\"]\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mix_of_profile_and_rules() {
    both_ways(
        r#"[herald.profile]
users = ["ralph"]
packages = ["chromium"]

# Koji messagebus failures on the headers exchange, matched on raw headers.
[[herald.rules]]
id = "kojimb-failed"
headers = { values = { type = "BuildStateChange", new = 3 } }

# Everything about python packages, except what robots do.
[[herald.rules]]
id = "python"
action = "history"
topics = ["org.fedoraproject.*.bodhi.#", "org.fedoraproject.*.copr.#"]
packages = ["python-operator-courier", "python-hypothesis"]
unless = { agents = ["bodhi", "copr"] }

[[herald.rules]]
id = "no-koschei"
action = "drop"
priority = 10
users = ["koschei"]
"#,
    )
    .await;
}

fn message(n: usize, package: &str) -> (String, BasicProperties) {
    let mut headers = FieldTable::default();
    headers.insert(
        format!("fedora_messaging_rpm_{package}").into(),
        AMQPValue::Boolean(true),
    );
    headers.insert("fedora_messaging_severity".into(), AMQPValue::LongInt(20));
    headers.insert(
        "fedora_messaging_schema".into(),
        AMQPValue::LongString("test".into()),
    );
    let id = format!("{package}-{n}");
    let props = BasicProperties::default()
        .with_message_id(id.as_str().into())
        .with_content_type("application/json".into())
        .with_headers(headers);
    (id, props)
}

fn rules_config(url: &str, queue: &str, packages: &[&str]) -> String {
    let list = packages
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(", ");
    config_for(
        url,
        queue,
        &[("amq.topic", "topic")],
        &format!(
            "[[herald.rules]]\nid = \"watched\"\naction = \"history\"\n\
             topics = [\"org.example.test.#\"]\npackages = [{list}]\n"
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_rules_while_messages_flow_loses_nothing() {
    wait_for_system_broker().await;
    let vhost = Vhost::new();
    let queue = unique("herald-rebind");
    let dir = HeraldDir::new(&rules_config(&vhost.url(), &queue, &["alpha"]));
    dir.declare();
    let child = dir
        .command(&["-v", "run", "--until-idle", "3"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start herald run");
    // Let it connect and bind before the stream starts.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let conn = vhost.connect().await;
    let ch = confirm_channel(&conn).await;
    let total = 1500;
    let mut beta_after_reload = BTreeSet::new();
    let mut reloaded = false;
    for n in 0..total {
        if n == total / 3 {
            std::fs::write(
                dir.config(),
                rules_config(&vhost.url(), &queue, &["alpha", "beta"]),
            )
            .expect("rewrite config");
            send_hangup(child.id());
            // The reload is applied within a moment; messages from here on must be kept.
            tokio::time::sleep(Duration::from_millis(1000)).await;
            reloaded = true;
        }
        for package in ["alpha", "beta"] {
            let (id, props) = message(n, package);
            let key = format!("org.example.test.{package}");
            publish_raw(&ch, "amq.topic", &key, b"{\"n\": 1}", props).await;
            if package == "beta" && reloaded {
                beta_after_reload.insert(id);
            }
        }
        if n % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let _ = conn.close(200, "done".into()).await;
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("herald run ends when idle");
    let log = output_text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("re-read; applying"), "{log}");

    let kept: BTreeSet<String> = kept_in_history(&dir).into_keys().collect();
    let alpha: BTreeSet<String> = (0..total).map(|n| format!("alpha-{n}")).collect();
    let lost: Vec<_> = alpha.difference(&kept).collect();
    assert!(
        lost.is_empty(),
        "{} alpha messages lost: {lost:?}",
        lost.len()
    );
    let lost_beta: Vec<_> = beta_after_reload.difference(&kept).collect();
    assert!(
        lost_beta.is_empty(),
        "{} beta messages published after the reload lost",
        lost_beta.len()
    );
    let early_beta = kept
        .iter()
        .filter(|id| id.starts_with("beta-") && !beta_after_reload.contains(*id))
        .count();
    assert!(
        early_beta < total / 3,
        "beta messages before the reload were not all kept ({early_beta})"
    );
}

/// SIGHUP to a child process by pid, through the `kill` program.
fn send_hangup(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -HUP {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_connections_each_with_their_rules() {
    wait_for_system_broker().await;
    let public = Vhost::new();
    let internal = Vhost::new();
    let fixtures = all_fixtures();
    let find = |name: &str| {
        fixtures
            .iter()
            .find(|(p, _)| p.file_name().is_some_and(|f| f == name))
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| panic!("fixture {name}"))
    };
    let koji = find("koji-build-state-change-complete-chromium.json");
    let pulp_task = find("pulp-task-finished-sync-scenario-test.json");
    let pulp_event = find("pulp-event-repo-sync-finish-scenario-test.json");

    let (q1, q2) = (unique("herald-public"), unique("herald-internal"));
    let config = format!(
        "{}\n[herald.connections.internal]\namqp_url = \"{}\"\n\
         [herald.connections.internal.queues.\"{q2}\"]\ndurable = true\n\
         [[herald.connections.internal.bindings]]\nqueue = \"{q2}\"\nexchange = \"pulp.api.v2\"\n\
         routing_keys = [\"tasks.#\"]\n\
         [[herald.connections.internal.bindings]]\nqueue = \"{q2}\"\nexchange = \"amq.topic\"\n\
         routing_keys = [\"pulp.#\"]\n\
         [herald.connections.internal.exchanges.\"pulp.api.v2\"]\ntype = \"topic\"\n",
        config_for(
            &public.url(),
            &q1,
            &[("amq.topic", "topic")],
            "[herald.profile]\nusers = [\"spot\"]\n"
        ),
        internal.url()
    );
    let dir = HeraldDir::new(&config);
    dir.declare();

    let c1 = public.connect().await;
    let c2 = internal.connect().await;
    let (ch1, ch2) = (confirm_channel(&c1).await, confirm_channel(&c2).await);
    declare_exchanges(&ch2, &[("pulp.api.v2".into(), "topic".into())]).await;
    publish_fixture(&ch1, &koji).await;
    // A Pulp event on the public connection: no Pulp rules there.
    publish_fixture(&ch1, &pulp_event).await;
    publish_fixture(&ch2, &pulp_task).await;
    publish_fixture(&ch2, &pulp_event).await;
    let out = dir.run(&["-v", "run", "--until-idle", "1.5"]);
    let log = output_text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("[default] connected") && log.contains("[internal] connected"),
        "{log}"
    );
    let _ = (
        c1.close(200, "".into()).await,
        c2.close(200, "".into()).await,
    );

    let hits = dir.search(&[]);
    let by_topic: BTreeMap<String, String> = hits
        .iter()
        .map(|h| {
            (
                h["topic"].as_str().unwrap_or_default().to_owned(),
                h["rule"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        by_topic.get(&koji.topic).map(String::as_str),
        Some("koji-mine-finished"),
        "{hits:?}"
    );
    assert_eq!(
        by_topic.get(&pulp_task.topic).map(String::as_str),
        Some("pulp-tasks-finished"),
        "{hits:?}"
    );
    assert_eq!(
        by_topic.get(&pulp_event.topic).map(String::as_str),
        Some("pulp-results"),
        "{hits:?}"
    );
    assert_eq!(hits.len(), 3, "the public Pulp event is dropped: {hits:?}");
}
