//! The policy driven by a deterministic clock and a fake notification server.

use super::text::{bound, BODY_MAX_CHARS, SUMMARY_MAX_CHARS};
use super::*;
use crate::message::{Envelope, Message, Properties};
use crate::notify::{NotifyAction, QuietHours, Urgency};
use crate::sources::RenderContext;
use rstest::rstest;
use std::collections::{BTreeMap, BTreeSet};
use time::macros::datetime;

/// Instants and local times that move together, from a fixed start.
struct Clock {
    base: Instant,
    local: OffsetDateTime,
}

impl Clock {
    /// Starts at the given local time.
    fn at(local: OffsetDateTime) -> Clock {
        Clock {
            base: Instant::now(),
            local,
        }
    }

    fn noon() -> Clock {
        Clock::at(datetime!(2024-05-01 12:00 UTC))
    }

    /// `ms` milliseconds after the start.
    fn t(&self, ms: u64) -> (Instant, OffsetDateTime) {
        let d = time::Duration::milliseconds(i64::try_from(ms).expect("small"));
        (self.base + Duration::from_millis(ms), self.local + d)
    }

    fn ms(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_millis()).expect("small")
    }
}

/// A notification server: new ids for new notifications, the same id for replacements.
#[derive(Default)]
struct Screen {
    next_id: ShownId,
    log: Vec<(ShownId, Planned)>,
}

impl Screen {
    fn show(&mut self, att: &mut Attention, p: Planned) -> ShownId {
        let id = p.notification.replaces.unwrap_or_else(|| {
            self.next_id += 1;
            self.next_id
        });
        att.shown(&p.slot, id);
        self.log.push((id, p));
        id
    }

    /// Offers a candidate at `ms`, showing what the verdict says.
    fn offer(&mut self, att: &mut Attention, clock: &Clock, ms: u64, c: Candidate) -> Fate {
        let (now, local) = clock.t(ms);
        let v = att.offer(c, now, local);
        if let Some(p) = v.show {
            self.show(att, p);
        }
        v.fate
    }

    /// Runs `due` whenever `next_due` says, up to `until_ms`.
    fn drain(&mut self, att: &mut Attention, clock: &Clock, until_ms: u64) {
        for _ in 0..10_000 {
            let Some(due) = att.next_due() else { return };
            let ms = clock.ms(due);
            if ms > until_ms {
                return;
            }
            let (now, local) = clock.t(ms);
            let planned = att.due(now, local);
            if planned.is_empty() {
                assert_ne!(att.next_due(), Some(due), "next_due would spin at {ms} ms");
            }
            for p in planned {
                self.show(att, p);
            }
        }
        panic!("due() never settles");
    }

    /// Notifications added to the screen (not replacing one).
    fn new_ones(&self) -> usize {
        self.log
            .iter()
            .filter(|(_, p)| p.notification.replaces.is_none())
            .count()
    }

    fn last(&self) -> &Notification {
        &self.log.last().expect("something shown").1.notification
    }
}

fn cand(id: &str, source: &str, kind: &str) -> Candidate {
    Candidate {
        id: id.to_owned(),
        source: source.to_owned(),
        kind: kind.to_owned(),
        summary: format!("summary of {id}"),
        details: format!("Id: {id}"),
        url: None,
        link_trusted: true,
        severity: 20,
        icon: source.to_owned(),
        packages: Vec::new(),
        rule: None,
        outcome: None,
        thread: None,
    }
}

fn koji_build(i: usize, outcome: &str) -> Candidate {
    Candidate {
        outcome: Some(outcome.to_owned()),
        thread: Some(format!("koji-build:{i}")),
        packages: vec![format!("pkg{i}")],
        severity: if outcome == "failed" { 40 } else { 20 },
        ..cand(&format!("b{i}"), "koji", "buildsys.build.state.change")
    }
}

fn settings() -> NotifySettings {
    NotifySettings::default()
}

/// No coalescing, and a rate limit of `per_minute`.
fn limited(per_minute: u32) -> NotifySettings {
    NotifySettings {
        rate_limit_per_minute: per_minute,
        digest_window_secs: 0,
        ..settings()
    }
}

fn quiet(start: &str, end: &str) -> NotifySettings {
    NotifySettings {
        quiet_hours: Some(QuietHours {
            start: start.to_owned(),
            end: end.to_owned(),
        }),
        ..settings()
    }
}

#[test]
fn notify_a_thousand_koji_messages_make_a_handful_of_notifications() {
    let clock = Clock::noon();
    let mut att = Attention::new(settings(), true);
    let mut screen = Screen::default();
    let mut fates = BTreeMap::new();
    for i in 0..1000 {
        let c = match i % 4 {
            0 | 1 => koji_build(i, if i % 8 == 0 { "failed" } else { "complete" }),
            2 => Candidate {
                thread: Some(format!("koji-task:{i}")),
                outcome: Some("closed".to_owned()),
                ..cand(&format!("t{i}"), "koji", "buildsys.task.state.change")
            },
            _ => cand(&format!("g{i}"), "koji", "buildsys.tag"),
        };
        let fate = screen.offer(&mut att, &clock, i as u64 * 10, c);
        *fates.entry(fate.as_str()).or_insert(0) += 1;
    }
    screen.drain(&mut att, &clock, 3_600_000);

    assert_eq!(fates.values().sum::<i32>(), 1000);
    assert_eq!(fates.get("shown"), Some(&3), "{fates:?}");
    assert_eq!(fates.get("coalesced"), Some(&997), "{fates:?}");
    // Three first notifications, each replaced once by its digest.
    assert_eq!(screen.log.len(), 6);
    assert_eq!(screen.new_ones(), 3);
    let covered: BTreeSet<&str> = screen
        .log
        .iter()
        .flat_map(|(_, p)| p.covers.iter().map(String::as_str))
        .collect();
    assert_eq!(covered.len(), 1000, "every message is reported");
    let titles: BTreeSet<&str> = screen.log[3..]
        .iter()
        .map(|(_, p)| p.notification.summary.as_str())
        .collect();
    assert_eq!(
        titles,
        BTreeSet::from([
            "Koji: 500 builds finished",
            "Koji: 250 tasks finished",
            "Koji: 250 tag changes",
        ])
    );
    let builds = &screen
        .log
        .iter()
        .find(|(_, p)| p.notification.summary.starts_with("Koji: 500 builds"))
        .expect("build digest")
        .1
        .notification;
    assert!(builds
        .body
        .starts_with("375 complete, 125 failed\npkg0, pkg1, pkg4 and 497 more"));
    assert_eq!(builds.urgency, Urgency::Critical);
    assert!(builds.replaces.is_some());
    assert_eq!(att.next_due(), None);
}

#[test]
fn notify_a_pulp_tasks_reports_end_as_one_notification() {
    let clock = Clock::noon();
    let mut att = Attention::new(settings(), true);
    let mut screen = Screen::default();
    let ctx = RenderContext {
        koji_web_base: None,
        pulp_base: Some("https://pulp.example.com".to_owned()),
        ..Default::default()
    };
    for (i, state) in ["waiting", "running", "finished"].into_iter().enumerate() {
        let body = serde_json::json!({
            "_ns": "task_status",
            "task_id": "6c7d388d-0e6e-4934-98db-f3ced760626f",
            "tags": ["pulp:repository:fedora-27-updates", "pulp:action:publish"],
            "state": state,
            "task_type": "pulp.server.managers.repo.publish.publish",
        });
        let env = Envelope {
            exchange: "pulp.api.v2".to_owned(),
            routing_key: "tasks.6c7d388d-0e6e-4934-98db-f3ced760626f".to_owned(),
            properties: Properties::default(),
            headers: None,
            body: serde_json::to_vec(&body).expect("json"),
            received_at: clock.local,
        };
        let stored = Stored::new(Message::decode(env), &ctx);
        let c = Candidate::from_stored(&stored);
        assert_eq!(c.outcome.as_deref(), Some(state));
        let fate = screen.offer(&mut att, &clock, i as u64 * 1000, c);
        assert_eq!(fate, Fate::Shown);
    }
    screen.drain(&mut att, &clock, 3_600_000);
    assert_eq!(screen.log.len(), 3);
    assert_eq!(screen.new_ones(), 1);
    let ids: BTreeSet<ShownId> = screen.log.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), 1, "every report replaces the first");
    let last = screen.last();
    assert_eq!(last.replaces, Some(1));
    assert!(
        format!("{} {}", last.summary, last.body).contains("finished"),
        "{last:?}"
    );
}

#[test]
fn notify_replacements_need_no_token_and_a_digest_releases_the_thread() {
    let clock = Clock::noon();
    let s = NotifySettings {
        rate_limit_per_minute: 1,
        ..settings()
    };
    let mut att = Attention::new(s, false);
    let mut screen = Screen::default();
    let task = |id: &str, task: &str, state: &str| Candidate {
        thread: Some(format!("pulp-task:{task}")),
        outcome: Some(state.to_owned()),
        ..cand(id, "pulp", "pulp.task")
    };
    assert_eq!(
        screen.offer(&mut att, &clock, 0, task("m1", "A", "waiting")),
        Fate::Shown
    );
    // No token left, yet an update of A replaces its notification.
    assert_eq!(
        screen.offer(&mut att, &clock, 100, task("m2", "A", "running")),
        Fate::Shown
    );
    assert_eq!(screen.last().replaces, Some(1));
    // Another task in A's burst is coalesced; the digest then takes A's notification over.
    assert_eq!(
        screen.offer(&mut att, &clock, 200, task("m3", "B", "running")),
        Fate::Coalesced
    );
    screen.drain(&mut att, &clock, 30_000);
    assert_eq!(screen.last().summary, "Pulp: 2 tasks");
    assert_eq!(screen.last().body, "2 running");
    assert_eq!(screen.last().replaces, Some(1));
    // So A's next report no longer replaces it; it is new, and over the limit.
    let fate = screen.offer(&mut att, &clock, 40_000, task("m4", "A", "finished"));
    assert_eq!(fate, Fate::RateLimited);
    screen.drain(&mut att, &clock, 120_000);
    // Held alone, it is shown as itself once a token is back.
    assert_eq!(screen.new_ones(), 2);
    assert_eq!(screen.last().summary, "summary of m4");
    assert_eq!(
        screen.log.last().map(|(_, p)| p.covers.clone()),
        Some(vec!["m4".to_owned()])
    );
}

#[test]
fn notify_rate_limit_folds_into_one_digest() {
    let clock = Clock::noon();
    let mut att = Attention::new(limited(2), true);
    let mut screen = Screen::default();
    let sources = ["koji", "copr", "koji", "koji", "copr", "bodhi"];
    let fates: Vec<Fate> = sources
        .iter()
        .enumerate()
        .map(|(i, src)| screen.offer(&mut att, &clock, i as u64, cand(&format!("m{i}"), src, "x")))
        .collect();
    assert_eq!(&fates[..2], [Fate::Shown, Fate::Shown]);
    assert!(fates[2..].iter().all(|f| *f == Fate::RateLimited));
    // One token every 30 s.
    let due = att.next_due().expect("a digest is due");
    assert_eq!(clock.ms(due), 30_000);
    let (now, local) = clock.t(29_999);
    assert!(att.due(now, local).is_empty());
    screen.drain(&mut att, &clock, 30_000);
    assert_eq!(screen.log.len(), 3);
    let digest = &screen.log[2].1;
    assert_eq!(digest.notification.summary, "4 more messages");
    assert_eq!(digest.notification.body, "Koji 2, Bodhi 1, Copr 1");
    assert_eq!(digest.notification.replaces, None);
    assert_eq!(digest.notification.icon, "generic");
    assert_eq!(digest.covers, ["m2", "m3", "m4", "m5"]);
    // The digest used the token.
    let f = screen.offer(&mut att, &clock, 30_001, cand("m6", "koji", "x"));
    assert_eq!(f, Fate::RateLimited);
    assert_eq!(att.next_due().map(|d| clock.ms(d)), Some(60_000));

    // Without a limit nothing is held.
    let mut att = Attention::new(
        NotifySettings {
            rate_limit_per_minute: 0,
            digest_window_secs: 0,
            ..settings()
        },
        true,
    );
    for i in 0..100 {
        let f = screen.offer(&mut att, &clock, i, cand(&format!("n{i}"), "koji", "x"));
        assert_eq!(f, Fate::Shown);
    }
    assert_eq!(att.next_due(), None);
}

#[rstest]
#[case::evening(datetime!(2024-05-01 21:59 UTC), false)]
#[case::start(datetime!(2024-05-01 22:00 UTC), true)]
#[case::after_midnight(datetime!(2024-05-02 03:00 UTC), true)]
#[case::end(datetime!(2024-05-02 07:00 UTC), false)]
fn notify_quiet_hours_wrap_midnight(#[case] local: OffsetDateTime, #[case] quiet_now: bool) {
    let clock = Clock::at(local);
    let mut att = Attention::new(quiet("22:00", "07:00"), true);
    let mut screen = Screen::default();
    let fate = screen.offer(&mut att, &clock, 0, cand("m", "koji", "x"));
    assert_eq!(fate, if quiet_now { Fate::Quiet } else { Fate::Shown });
}

#[test]
fn notify_quiet_hours_end_with_one_summary() {
    let clock = Clock::at(datetime!(2024-05-01 21:00 UTC));
    let mut att = Attention::new(quiet("22:00", "07:00"), true);
    let mut screen = Screen::default();
    let hour = 3_600_000;
    assert_eq!(
        screen.offer(&mut att, &clock, 0, cand("a", "koji", "x")),
        Fate::Shown
    );
    screen.drain(&mut att, &clock, hour);
    let held = [
        ("b", "koji"),
        ("c", "bodhi"),
        ("d", "koji"),
        ("e", "koji-messagebus"),
    ];
    for (i, (id, src)) in held.into_iter().enumerate() {
        // 22:30, 00:30, 02:30, 04:30
        let ms = 3 * hour / 2 + 2 * hour * i as u64;
        let c = Candidate {
            severity: 40,
            ..cand(id, src, "x")
        };
        assert_eq!(screen.offer(&mut att, &clock, ms, c), Fate::Quiet);
    }
    // Due at 07:00, not before.
    assert_eq!(att.next_due().map(|d| clock.ms(d)), Some(10 * hour));
    let (now, local) = clock.t(10 * hour - 1);
    assert!(att.due(now, local).is_empty());
    screen.drain(&mut att, &clock, 11 * hour);
    assert_eq!(screen.log.len(), 2);
    let summary = &screen.log[1].1;
    assert_eq!(
        summary.notification.summary,
        "While you were away: 4 messages"
    );
    assert_eq!(summary.notification.body, "Koji 3, Bodhi 1");
    assert_eq!(summary.notification.urgency, Urgency::Low);
    assert_eq!(summary.covers.len(), 4);
    assert_eq!(att.next_due(), None);

    // Without `summary_after_quiet` the held messages are only recorded.
    let s = NotifySettings {
        summary_after_quiet: false,
        ..quiet("22:00", "07:00")
    };
    let mut att = Attention::new(s, true);
    let mut screen = Screen::default();
    assert_eq!(
        screen.offer(&mut att, &clock, 2 * hour, cand("f", "koji", "x")),
        Fate::Quiet
    );
    screen.drain(&mut att, &clock, 24 * hour);
    assert!(screen.log.is_empty());
    assert_eq!(att.next_due(), None);
}

#[test]
fn notify_held_bursts_and_limits_join_the_quiet_summary() {
    let clock = Clock::at(datetime!(2024-05-01 21:59:50 UTC));
    let s = NotifySettings {
        rate_limit_per_minute: 1,
        ..quiet("22:00", "07:00")
    };
    let mut att = Attention::new(s, true);
    let mut screen = Screen::default();
    assert_eq!(
        screen.offer(&mut att, &clock, 0, cand("a", "koji", "x")),
        Fate::Shown
    );
    assert_eq!(
        screen.offer(&mut att, &clock, 1000, cand("b", "koji", "x")),
        Fate::Coalesced
    );
    assert_eq!(
        screen.offer(&mut att, &clock, 2000, cand("c", "copr", "y")),
        Fate::RateLimited
    );
    // Both would be due during quiet hours: they wait for the summary instead.
    screen.drain(&mut att, &clock, 24 * 3_600_000);
    assert_eq!(screen.log.len(), 2);
    let summary = &screen.log[1].1;
    assert_eq!(
        summary.notification.summary,
        "While you were away: 2 messages"
    );
    assert_eq!(summary.notification.body, "Copr 1, Koji 1");
    assert_eq!(summary.covers, ["b", "c"]);
    // At 07:00.
    let shown_at = clock.local + time::Duration::seconds(10) + time::Duration::hours(9);
    assert_eq!(att.last.map(|(_, l)| l), Some(shown_at));
}

#[test]
fn notify_pause_and_resume() {
    let clock = Clock::noon();
    let mut att = Attention::new(settings(), true);
    let mut screen = Screen::default();
    att.pause(None);
    assert!(att.paused(clock.t(0).0));
    for (i, src) in ["koji", "koji", "pulp"].into_iter().enumerate() {
        let f = screen.offer(&mut att, &clock, i as u64, cand(&format!("m{i}"), src, "x"));
        assert_eq!(f, Fate::Paused);
    }
    // Paused until resumed: nothing is due.
    assert_eq!(att.next_due(), None);
    screen.drain(&mut att, &clock, 3_600_000);
    assert!(screen.log.is_empty());
    att.resume();
    assert!(!att.paused(clock.t(10).0));
    assert_eq!(att.next_due().map(|d| clock.ms(d)), Some(2));
    screen.drain(&mut att, &clock, 3_600_000);
    assert_eq!(screen.log.len(), 1);
    assert_eq!(screen.last().summary, "While you were away: 3 messages");
    assert_eq!(screen.last().body, "Koji 2, Pulp 1");

    // A timed pause ends by itself.
    let (until, _) = clock.t(60_000);
    att.pause(Some(until));
    assert_eq!(
        screen.offer(&mut att, &clock, 10_000, cand("p", "copr", "x")),
        Fate::Paused
    );
    assert_eq!(att.next_due(), Some(until));
    screen.drain(&mut att, &clock, 3_600_000);
    assert_eq!(screen.last().summary, "While you were away: 1 message");
    assert_eq!(screen.last().body, "Copr 1");
    assert_eq!(
        screen.offer(&mut att, &clock, 70_000, cand("q", "copr", "x")),
        Fate::Shown
    );
}

#[test]
fn notify_snoozed_rules_are_held_without_a_summary() {
    let clock = Clock::noon();
    let mut att = Attention::new(settings(), true);
    let mut screen = Screen::default();
    let ruled = |id: &str, rule: &str| Candidate {
        rule: Some(rule.to_owned()),
        ..cand(id, "koji", id)
    };
    att.snooze("noisy", clock.t(3_600_000).0);
    assert_eq!(
        screen.offer(&mut att, &clock, 0, ruled("a", "noisy")),
        Fate::Paused
    );
    assert_eq!(
        screen.offer(&mut att, &clock, 1, ruled("b", "other")),
        Fate::Shown
    );
    assert_eq!(
        screen.offer(&mut att, &clock, 2, cand("c", "koji", "c")),
        Fate::Shown
    );
    screen.drain(&mut att, &clock, 7_200_000);
    assert_eq!(screen.log.len(), 2, "no summary for a snoozed rule");
    let f = screen.offer(&mut att, &clock, 3_600_000, ruled("d", "noisy"));
    assert_eq!(f, Fate::Shown);
}

/// Notification text, actions and settings changes.
mod fixtures;
mod text_and_actions;
