//! Package chains end to end: the messages of a package's way from upstream release to
//! stable (`tests/fixtures/chains`, built with the producers' schema classes, so their
//! fedora-messaging headers are the real ones) are published one at a time through the real
//! broker to a running `herald run`, and after each one `herald packages --json` must print
//! exactly the state that step leads to, and `herald package NAME --json` the events so far
//! in order. Then messages sent earlier but delivered late must leave the state alone, and
//! `herald packages --rebuild` must agree with the model kept as messages arrived.

use herald_core::recorded::{fixture_paths, Fixture};
use herald_e2e::catch_up::{assert_clean, wait_stored, Running};
use herald_e2e::herald::{confirm_channel, output_text, publish_fixture, TopicWorld};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one message may take from publish to a searchable row.
const INGEST: Duration = Duration::from_secs(30);

fn chain(name: &str) -> Vec<(PathBuf, Fixture)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/chains")
        .join(name);
    let paths = fixture_paths(&dir).expect("list chain fixtures");
    assert!(!paths.is_empty(), "no fixtures in {}", dir.display());
    paths
        .into_iter()
        .map(|p| {
            let f = Fixture::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, f)
        })
        .collect()
}

fn id(f: &Fixture) -> String {
    f.properties
        .message_id
        .clone()
        .expect("chain fixtures carry an id")
}

/// A running Herald on a vhost of its own, and a way to publish to it.
struct Bus {
    world: TopicWorld,
    running: Option<Running>,
}

impl Bus {
    fn start(profile: &str) -> Bus {
        let world = TopicWorld::new(
            "herald-chain",
            &format!("[herald]\nunmatched = \"history\"\n{profile}"),
        );
        // Declares the queue and its bindings, so nothing published is unroutable.
        world.dir.declare();
        let running = Running::start(&world.dir, &[]);
        Bus {
            world,
            running: Some(running),
        }
    }

    /// Publishes one message with its exact headers and body, and waits until it is stored.
    fn deliver(&self, f: &Fixture) {
        self.world.rt.block_on(async {
            let conn = self.world.vhost.connect().await;
            let ch = confirm_channel(&conn).await;
            publish_fixture(&ch, f).await;
            let _ = conn.close(200, "published".into()).await;
        });
        wait_stored(&self.world.dir, &[id(f)], INGEST, self.running.as_ref());
    }

    fn json(&self, args: &[&str]) -> Vec<Value> {
        let out = self.world.dir.run_ok(args);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    fn package(&self, name: &str) -> Value {
        let mut all = self.json(&["packages", "--json", name]);
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }

    /// The ids and stages of a package's timeline.
    fn timeline(&self, name: &str) -> Vec<(String, String)> {
        self.json(&["package", name, "--json"])
            .iter()
            .map(|e| {
                (
                    e["id"].as_str().expect("id").to_owned(),
                    e["stage"].as_str().expect("stage").to_owned(),
                )
            })
            .collect()
    }

    fn stop(mut self) -> String {
        let said = self.running.take().map(Running::stop).unwrap_or_default();
        assert_clean(&said);
        said
    }
}

fn koji(build_id: u32) -> String {
    format!("https://koji.fedoraproject.org/koji/buildinfo?buildID={build_id}")
}

fn build(nvr: &str, state: &str, sent_at: &str, build_id: u32) -> Value {
    json!({"nvr": nvr, "state": state, "sent_at": sent_at, "url": koji(build_id)})
}

const RICH: &str = "python-rich";
const RICH_NVR: &str = "python-rich-14.1.0-1.fc43";
const RICH_ALIAS: &str = "FEDORA-2025-7e3c1a9b42";

/// One message of a chain: its file name, the stage of its timeline event, and the change it
/// makes to what `herald packages --json` prints.
type Step = (&'static str, &'static str, Box<dyn Fn(&mut Value)>);

/// What python-rich's chain changes, message by message.
fn rich_steps() -> Vec<Step> {
    let update = |status: &str| {
        json!({
            "alias": RICH_ALIAS, "status": status, "gating": null, "gating_settled": false,
            "karma": 0, "url": format!("https://bodhi.fedoraproject.org/updates/{RICH_ALIAS}"),
            "user": "ferris"
        })
    };
    let gating = |g: &'static str, settled: bool| -> Box<dyn Fn(&mut Value)> {
        Box::new(move |w: &mut Value| {
            w["branches"][0]["update"]["gating"] = json!(g);
            w["branches"][0]["update"]["gating_settled"] = json!(settled);
        })
    };
    vec![
        (
            "00-build-complete-previous",
            "build",
            Box::new(|w: &mut Value| {
                w["branches"] = json!([{
                    "branch": "f43",
                    "build": build("python-rich-14.0.0-1.fc43", "complete", "2025-09-01T08:00:00Z", 2801000),
                    "update": null, "stable": null, "ci": null
                }]);
                w["fedora_version"] = json!("14.0.0");
            }),
        ),
        (
            "01-anitya-new-version",
            "upstream",
            Box::new(|w: &mut Value| {
                w["upstream"] = json!({"version": "14.1.0", "sent_at": "2025-10-06T09:00:00Z"});
                w["behind_upstream"] = json!(true);
                w["behind_since"] = json!("2025-10-06T09:00:00Z");
            }),
        ),
        (
            "02-hotness-bug-file",
            "hotness",
            Box::new(|_: &mut Value| {}),
        ),
        (
            "03-build-building",
            "build",
            Box::new(|w: &mut Value| {
                w["branches"][0]["build"] =
                    build(RICH_NVR, "building", "2025-10-07T14:00:00Z", 2812345);
            }),
        ),
        (
            "04-build-complete",
            "build",
            Box::new(|w: &mut Value| {
                w["branches"][0]["build"] =
                    build(RICH_NVR, "complete", "2025-10-07T14:06:40Z", 2812345);
                w["fedora_version"] = json!("14.1.0");
                w["behind_upstream"] = json!(false);
                w["behind_since"] = json!(null);
            }),
        ),
        (
            "05-tag-updates-candidate",
            "tag",
            Box::new(|_: &mut Value| {}),
        ),
        (
            "06-bodhi-request-testing",
            "update",
            Box::new(move |w: &mut Value| w["branches"][0]["update"] = update("pending")),
        ),
        (
            "07-bodhi-complete-testing",
            "update",
            Box::new(|w: &mut Value| w["branches"][0]["update"]["status"] = json!("testing")),
        ),
        (
            "08-ci-test-complete",
            "ci",
            Box::new(|w: &mut Value| {
                w["branches"][0]["ci"] =
                    json!(format!("passed fedora-ci.koji-build.tier0 {RICH_NVR}"));
            }),
        ),
        // Greenwave flips while results come in; the decisions were sent in October 2025,
        // so each verdict has held far longer than the settle window.
        (
            "09-greenwave-decision-failed",
            "gating",
            gating("failed", true),
        ),
        (
            "10-greenwave-decision-waiting",
            "gating",
            gating("waiting", false),
        ),
        (
            "11-greenwave-decision-failed-again",
            "gating",
            gating("failed", true),
        ),
        (
            "12-greenwave-decision-passed",
            "gating",
            gating("passed", true),
        ),
        (
            "13-bodhi-comment-karma",
            "feedback",
            Box::new(|w: &mut Value| w["branches"][0]["update"]["karma"] = json!(1)),
        ),
        (
            "14-bodhi-complete-stable",
            "update",
            Box::new(|w: &mut Value| w["branches"][0]["update"]["status"] = json!("stable")),
        ),
    ]
}

fn sent_at(f: &Fixture) -> String {
    let sent = f
        .headers
        .as_ref()
        .and_then(|h| h.get("sent-at"))
        .and_then(Value::as_str)
        .expect("sent-at");
    // `2025-10-07T14:06:40+00:00` as the model prints it.
    sent.replace("+00:00", "Z")
}

#[test]
fn a_branched_release_chain_from_upstream_to_stable() {
    let bus = Bus::start("[herald.profile]\npackages = [\"python-rich\"]\n");
    let fixtures = chain("python-rich-f43");
    let steps = rich_steps();
    assert_eq!(fixtures.len(), steps.len());
    let mut want = json!({
        "package": RICH, "upstream": null, "branches": [], "ftbfs": null,
        "behind_upstream": null, "behind_since": null, "fedora_version": null,
        "changed_at": null
    });
    let mut events: Vec<(String, String)> = Vec::new();
    for ((path, f), (name, stage, change)) in fixtures.iter().zip(&steps) {
        assert!(path.ends_with(format!("{name}.json")), "{}", path.display());
        bus.deliver(f);
        change(&mut want);
        want["changed_at"] = json!(sent_at(f));
        events.push((id(f), (*stage).to_owned()));
        assert_eq!(bus.package(RICH), want, "after {name}");
        assert_eq!(bus.timeline(RICH), events, "after {name}");
        // The watched package is listed without naming it.
        assert_eq!(
            bus.json(&["packages", "--json"]),
            [want.clone()],
            "after {name}"
        );
        if want["behind_upstream"] == json!(true) {
            let text = bus.world.dir.run_ok(&["packages"]);
            let text = String::from_utf8_lossy(&text.stdout);
            assert!(
                text.starts_with("python-rich  upstream 14.1.0 (")
                    && text.contains(" days ago)  [behind upstream for ")
                    && text.contains(" days]  f43: "),
                "after {name}: {text}"
            );
        }
    }

    // Sent during the chain, delivered after it: an older build, a failed decision sent
    // before the passing one, the stable request sent before the push. The state stays;
    // the timeline puts each where it was sent.
    let done = want.clone();
    let late = chain("python-rich-f43-late");
    for (_, f) in &late {
        bus.deliver(f);
        assert_eq!(bus.package(RICH), done, "after late {}", id(f));
    }
    let timeline = bus.json(&["package", RICH, "--json"]);
    assert_eq!(timeline.len(), fixtures.len() + late.len());
    let sent: Vec<&str> = timeline
        .iter()
        .map(|e| e["sent_at"].as_str().expect("sent_at"))
        .collect();
    let mut sorted = sent.clone();
    sorted.sort();
    assert_eq!(
        sent, sorted,
        "the timeline is in the order events were sent"
    );
    assert_eq!(timeline[1]["id"], json!(id(&late[0].1)));
    assert_eq!(timeline[1]["nvr"], "python-rich-14.0.0-2.fc43");

    // Rebuilt from the stored messages, the model is the one kept as they arrived.
    let out = bus
        .world
        .dir
        .run_ok(&["packages", "--json", "--rebuild", RICH]);
    let rebuilt: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", output_text(&out)));
    assert_eq!(rebuilt, done);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("rebuilt the package model from the history in "),
        "{}",
        output_text(&out)
    );
    assert_eq!(bus.json(&["package", RICH, "--json"]), timeline);
    bus.stop();
}

#[test]
fn a_rawhide_update_is_stable_once_tagged_into_the_release_tag() {
    // Selected through the profile's user: bob built it and submitted its update.
    let bus = Bus::start("[herald.profile]\nusers = [\"bob\"]\n");
    let fixtures = chain("fastfetch-rawhide");
    let nvr = "fastfetch-2.54.0-1.fc44";
    let alias = "FEDORA-2025-c0ffee4d21";
    let update = json!({
        "alias": alias, "status": "pending", "gating": null, "gating_settled": false,
        "karma": 0, "url": format!("https://bodhi.fedoraproject.org/updates/{alias}"),
        "user": "bob"
    });
    let steps: Vec<Step> = vec![
        (
            "01-build-building",
            "build",
            Box::new(move |w: &mut Value| {
                // The `rawhide` target names the branch, and says Rawhide is 44.
                w["branches"] = json!([{
                    "branch": "rawhide",
                    "build": build(nvr, "building", "2025-10-09T08:00:00Z", 2813999),
                    "update": null, "stable": null, "ci": null
                }]);
            }),
        ),
        (
            "02-build-complete",
            "build",
            Box::new(move |w: &mut Value| {
                w["branches"][0]["build"] = build(nvr, "complete", "2025-10-09T08:04:10Z", 2813999);
                w["fedora_version"] = json!("2.54.0");
            }),
        ),
        (
            "03-tag-updates-candidate",
            "tag",
            Box::new(|_: &mut Value| {}),
        ),
        (
            "04-bodhi-request-testing",
            "update",
            Box::new(move |w: &mut Value| w["branches"][0]["update"] = update.clone()),
        ),
        (
            "05-bodhi-requirements-met-stable",
            "update",
            Box::new(|w: &mut Value| w["branches"][0]["update"]["status"] = json!("testing")),
        ),
        (
            "06-tag-stable",
            "tag",
            Box::new(move |w: &mut Value| {
                // `f44` is Rawhide's own tag: stable there, and so is the update carrying it.
                w["branches"][0]["stable"] = json!(nvr);
                w["branches"][0]["update"]["status"] = json!("stable");
            }),
        ),
    ];
    assert_eq!(fixtures.len(), steps.len());
    let mut want = json!({
        "package": "fastfetch", "upstream": null, "branches": [], "ftbfs": null,
        "behind_upstream": null, "behind_since": null, "fedora_version": null,
        "changed_at": null
    });
    let mut events = Vec::new();
    for ((path, f), (name, stage, change)) in fixtures.iter().zip(&steps) {
        assert!(path.ends_with(format!("{name}.json")), "{}", path.display());
        bus.deliver(f);
        change(&mut want);
        want["changed_at"] = json!(sent_at(f));
        events.push((id(f), (*stage).to_owned()));
        assert_eq!(
            bus.json(&["packages", "--json"]),
            [want.clone()],
            "after {name}"
        );
        assert_eq!(bus.timeline("fastfetch"), events, "after {name}");
    }
    let timeline = bus.json(&["package", "fastfetch", "--json"]);
    assert!(
        timeline
            .iter()
            .all(|e| e["branch"] == "rawhide" && e["nvr"] == nvr),
        "every event is about the Rawhide build: {timeline:?}"
    );
    let out = bus.world.dir.run_ok(&["packages", "--json", "--rebuild"]);
    let rebuilt: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", output_text(&out)));
    assert_eq!(rebuilt, want);
    bus.stop();
}
