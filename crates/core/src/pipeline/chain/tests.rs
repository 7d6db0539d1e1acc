//! The chain stage on a real history: messages written as the writer writes them, looks
//! raising each notice once (also across a restart), the candidates' text and links.

use super::*;
use crate::history::Entry;
use serde_json::json;
use std::path::Path;

const ALIAS: &str = "FEDORA-2026-1a2b3c";
const NVR: &str = "python-rich-14.1.0-1.fc43";

fn config(extra: &str) -> Config {
    settled_after("15m", extra)
}

fn settled_after(settle: &str, extra: &str) -> Config {
    let text = format!(
        "[herald.profile]\nusers = [\"jdoe\"]\npackages = [\"python-watched\"]\n\
         [herald.packages]\ngating_settle = \"{settle}\"\n{extra}"
    );
    Config::from_toml(&text, Path::new("/test/config.toml")).expect("config")
}

fn entry(
    id: &str,
    topic: &str,
    package: &str,
    body: serde_json::Value,
    sent: OffsetDateTime,
) -> Entry {
    let rpm = format!("rpm_{package}");
    crate::testing::fm_entry(id, topic, None, &[&rpm, "user_jdoe"], &body, sent)
}

fn update(id: &str, topic: &str, sent: OffsetDateTime) -> Entry {
    let body = json!({
        "update": {
            "alias": ALIAS,
            "builds": [{"nvr": NVR}],
            "user": {"name": "jdoe"},
            "status": if topic.ends_with("stable") { "stable" } else { "testing" },
            "release": {"name": "F43", "branch": "f43"},
        },
        "agent": "jdoe",
    });
    entry(id, topic, "python-rich", body, sent)
}

/// An update submitted to testing 90 minutes ago that reached stable 2 minutes ago.
async fn write_stable(s: &HistoryStore) {
    s.insert_batch(&[
        update(
            "u1",
            "org.fedoraproject.prod.bodhi.update.request.testing",
            ago(90),
        ),
        update(
            "u2",
            "org.fedoraproject.prod.bodhi.update.complete.stable",
            ago(2),
        ),
    ])
    .await
    .expect("write");
}

fn decision(id: &str, passed: bool, sent: OffsetDateTime) -> Entry {
    let body = json!({
        "subject_identifier": ALIAS,
        "subject_type": "bodhi_update",
        "product_version": "fedora-43",
        "policies_satisfied": passed,
        "summary": if passed { "All required tests passed" } else { "1 of 2 required tests failed" },
        "subject": [{"item": NVR, "type": "koji_build"}, {"item": ALIAS, "type": "bodhi_update"}],
    });
    entry(
        id,
        "org.fedoraproject.prod.greenwave.decision.update",
        "python-rich",
        body,
        sent,
    )
}

async fn store() -> (tempfile::TempDir, HistoryStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = HistoryStore::open(&dir.path().join("h.db"), &RenderContext::default())
        .await
        .expect("open");
    (dir, s)
}

/// A chain stage on `store` whose offers come out of the returned receiver.
fn chain(store: &HistoryStore, cfg: Config) -> (Chain, mpsc::Receiver<Offer>) {
    let (tx, rx) = mpsc::channel(8);
    let chain = Chain {
        store: store.clone(),
        config: watch::channel(Arc::new(cfg)).1,
        notify: tx,
        events: broadcast::channel(16).0,
        cancel: CancellationToken::new(),
        drain: CancellationToken::new(),
    };
    (chain, rx)
}

fn offered(rx: &mut mpsc::Receiver<Offer>) -> Vec<Raised> {
    let mut out = Vec::new();
    while let Ok(offer) = rx.try_recv() {
        match offer {
            Offer::Chain(r) => out.extend(r),
            other => panic!("not a chain offer: {other:?}"),
        }
    }
    out
}

fn ago(minutes: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() - time::Duration::minutes(minutes)
}

#[tokio::test]
async fn a_settled_decision_is_offered_once_and_never_after_a_restart() {
    let (_d, s) = store().await;
    s.insert_batch(&[
        update(
            "u1",
            "org.fedoraproject.prod.bodhi.update.request.testing",
            ago(60),
        ),
        decision("g1", false, ago(50)),
        decision("g2", true, ago(45)),
    ])
    .await
    .expect("write");
    let (c, mut rx) = chain(&s, config(""));
    let mut handled = HashSet::new();
    c.look(&mut handled).await;
    let raised = offered(&mut rx);
    assert_eq!(raised.len(), 1, "{raised:?}");
    let r = &raised[0];
    assert_eq!(
        (r.package.as_str(), r.kind),
        ("python-rich", NoticeKind::Gating)
    );
    assert_eq!(
        r.candidate.summary,
        format!("python-rich: gating passed ({ALIAS}, f43)")
    );
    assert!(r.candidate.details.contains(&format!("Build: {NVR}")));
    assert_eq!(
        r.candidate.url.as_deref(),
        Some(format!("https://bodhi.fedoraproject.org/updates/{ALIAS}").as_str())
    );
    assert!(r.candidate.link_trusted);
    assert_eq!(r.candidate.rule.as_deref(), Some("chain-gating"));
    assert_eq!(r.candidate.packages, ["python-rich"]);

    c.look(&mut handled).await;
    assert!(offered(&mut rx).is_empty(), "the same look again");
    let (restarted, mut rx2) = chain(&s, config(""));
    restarted.look(&mut HashSet::new()).await;
    assert!(offered(&mut rx2).is_empty(), "a restart finds it raised");
}

#[tokio::test]
async fn a_flip_still_within_the_window_waits_and_says_when_to_look_again() {
    let (_d, s) = store().await;
    s.insert_batch(&[
        update(
            "u1",
            "org.fedoraproject.prod.bodhi.update.request.testing",
            ago(20),
        ),
        decision("g1", true, ago(10)),
        decision("g2", false, ago(5)),
    ])
    .await
    .expect("write");
    let (c, mut rx) = chain(&s, config(""));
    let wait = c
        .look(&mut HashSet::new())
        .await
        .expect("a time to look again");
    assert!(
        offered(&mut rx).is_empty(),
        "the failure has held 5 of 15 minutes"
    );
    assert!(
        wait > Duration::from_secs(9 * 60) && wait <= Duration::from_secs(10 * 60) + TIMER_MIN,
        "{wait:?}"
    );
}

#[tokio::test]
async fn stable_is_offered_with_the_message_it_stems_from() {
    let (_d, s) = store().await;
    write_stable(&s).await;
    let (mut c, mut rx) = chain(&s, config(""));
    let (events, mut heard) = broadcast::channel(16);
    c.events = events;
    c.look(&mut HashSet::new()).await;
    let raised = offered(&mut rx);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].kind, NoticeKind::Stable);
    assert_eq!(
        raised[0].candidate.summary,
        "python-rich 14.1.0 reached stable in f43"
    );
    match heard.try_recv().expect("an event") {
        PipelineEvent::PackageNotice {
            package,
            kind,
            message,
            ..
        } => {
            assert_eq!((package.as_str(), kind.as_str()), ("python-rich", "stable"));
            assert_eq!(message.as_deref(), Some("u2"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn toggles_off_or_no_profile_raise_nothing() {
    let (_d, s) = store().await;
    s.insert_batch(&[
        update(
            "u1",
            "org.fedoraproject.prod.bodhi.update.request.testing",
            ago(90),
        ),
        decision("g1", true, ago(80)),
        update(
            "u2",
            "org.fedoraproject.prod.bodhi.update.complete.stable",
            ago(2),
        ),
    ])
    .await
    .expect("write");
    let off = config("notify_gating = false\nnotify_stable = false\nnotify_no_build = false\n");
    let (c, mut rx) = chain(&s, off);
    assert_eq!(c.look(&mut HashSet::new()).await, None);
    assert!(offered(&mut rx).is_empty());
    let nobody = Config::from_toml("", Path::new("/test/config.toml")).expect("config");
    let (c, mut rx) = chain(&s, nobody);
    c.look(&mut HashSet::new()).await;
    assert!(offered(&mut rx).is_empty());
}

#[test]
fn links_are_offered_only_to_the_producers_known_hosts() {
    let n = Notice {
        package: "python-rich".to_owned(),
        kind: NoticeKind::NoBuild,
        key: "14.1.0".to_owned(),
        branch: None,
        since: 0,
        event_at: 0,
        alias: None,
        decision: None,
        nvr: None,
        user: None,
        url: None,
        version: Some("14.1.0".to_owned()),
        fedora_version: Some("14.0.0".to_owned()),
        waited_ms: 3 * 86_400_000,
    };
    let ctx = RenderContext::default();
    let known = candidate(
        &n,
        Some("https://release-monitoring.org/project/42/".into()),
        &ctx,
    );
    assert!(known.link_trusted);
    assert_eq!(known.source, "anitya");
    assert_eq!(
        known.summary,
        "python-rich: upstream 14.1.0 for 3 days, no build"
    );
    let unknown = candidate(
        &n,
        Some("https://release-monitoring.org.evil.example/".into()),
        &ctx,
    );
    assert!(!unknown.link_trusted);
    let bodhi_for_anitya = candidate(&n, Some("https://bodhi.fedoraproject.org/x".into()), &ctx);
    assert!(!bodhi_for_anitya.link_trusted, "another producer's host");
    let not_web = candidate(&n, Some("smb://release-monitoring.org/x".into()), &ctx);
    assert_eq!(not_web.url, None);
}

#[tokio::test]
async fn a_running_stage_raises_a_decision_as_soon_as_it_has_held() {
    let (_d, s) = store().await;
    let (c, mut rx) = chain(&s, settled_after("1s", ""));
    let cancel = c.cancel.clone();
    let task = tokio::spawn(c.run());
    // Written while the stage runs, as the writer does: the write wakes it.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let now = OffsetDateTime::now_utc();
    let ms = time::Duration::milliseconds;
    s.insert_batch(&[
        update(
            "u1",
            "org.fedoraproject.prod.bodhi.update.request.testing",
            now - ms(900),
        ),
        decision("g1", false, now - ms(600)),
        decision("g2", true, now - ms(300)),
    ])
    .await
    .expect("write");
    let started = std::time::Instant::now();
    let offer = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("an offer within 5 s")
        .expect("the stage is running");
    let waited = started.elapsed();
    match offer {
        Offer::Chain(r) => {
            assert_eq!(r.len(), 1, "{r:?}");
            assert!(r[0].candidate.summary.contains("gating passed"), "{r:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        waited >= Duration::from_millis(500) && waited < Duration::from_secs(2),
        "raised when the decision had held 1 s: after {waited:?}"
    );
    cancel.cancel();
    task.await.expect("the stage ends");
}

/// A notification server that records what it is asked to show.
#[derive(Debug, Default)]
struct Recorder(std::sync::Mutex<Vec<crate::notify::Notification>>);

impl crate::notify::Notifier for Recorder {
    fn supports_actions(&self) -> bool {
        true
    }

    fn show(
        &self,
        n: &crate::notify::Notification,
    ) -> Result<crate::notify::ShownId, crate::error::NotifyError> {
        let mut shown = self.0.lock().unwrap_or_else(|e| e.into_inner());
        shown.push(n.clone());
        Ok(u32::try_from(shown.len()).unwrap_or(u32::MAX))
    }
}

/// Offers the stable notice of `s` to a notification stage that is `paused` or not, until
/// the stage ends; returns what was shown and the fate recorded with the notice.
async fn through_the_stage(
    s: &HistoryStore,
    paused: bool,
) -> (Vec<crate::notify::Notification>, Option<String>) {
    let (c, mut rx) = chain(s, config(""));
    c.look(&mut HashSet::new()).await;
    let raised = offered(&mut rx);
    assert_eq!(raised.len(), 1, "{raised:?}");
    let recorder = Arc::new(Recorder::default());
    let mut attention = crate::notify::Attention::new(Default::default(), true);
    if paused {
        attention.pause(None);
    }
    let (tx, candidates) = mpsc::channel(8);
    let (_control_tx, control) = mpsc::unbounded_channel();
    let stage = super::super::notify::Stage {
        notifier: Some(recorder.clone()),
        attention,
        store: s.clone(),
        events: broadcast::channel(16).0,
        candidates,
        control,
        config_path: None,
        reloader: super::super::Reloader::new(config("")),
        local_offset: time::UtcOffset::UTC,
    };
    tx.send(Offer::Chain(raised))
        .await
        .expect("the stage takes it");
    drop(tx);
    stage.run().await;
    let fate: Option<String> =
        sqlx::query_scalar("SELECT fate FROM package_notices WHERE kind = 'stable'")
            .fetch_one(s.pool())
            .await
            .expect("the notice");
    let shown = recorder.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    (shown, fate)
}

#[tokio::test]
async fn notices_are_shown_with_the_hosts_line_or_held_and_recorded_while_paused() {
    let (_d, s) = store().await;
    write_stable(&s).await;
    let (shown, fate) = through_the_stage(&s, false).await;
    assert_eq!(fate.as_deref(), Some("shown"));
    assert_eq!(shown.len(), 1, "{shown:?}");
    let n = &shown[0];
    assert_eq!(n.summary, "python-rich 14.1.0 reached stable in f43");
    assert!(
        n.body.ends_with("\nOpen: bodhi.fedoraproject.org"),
        "{}",
        n.body
    );
    assert!(!n.body.contains("https://"), "{}", n.body);
    assert_eq!(n.icon, "bodhi");
    assert_eq!(
        n.actions,
        [
            crate::notify::NotifyAction::Open {
                url: format!("https://bodhi.fedoraproject.org/updates/{ALIAS}")
            },
            crate::notify::NotifyAction::Mute {
                package: "python-rich".to_owned()
            },
            crate::notify::NotifyAction::Snooze {
                rule: "chain-stable".to_owned()
            },
        ]
    );

    let (_d, s) = store().await;
    write_stable(&s).await;
    let (shown, fate) = through_the_stage(&s, true).await;
    assert_eq!(fate.as_deref(), Some("paused"), "recorded, not shown");
    assert!(shown.is_empty(), "{shown:?}");
}
